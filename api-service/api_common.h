// What the compute API resources share: their dependencies, loading a
// server the caller may see, schema error messages and task enqueueing.
#ifndef SHAREPLANE_API_SERVICE_API_COMMON_H_
#define SHAREPLANE_API_SERVICE_API_COMMON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "api-service/policy.h"
#include "api-service/request_context.h"
#include "common/http/http.h"
#include "common/openstack/manila_client.h"
#include "common/pg/db.h"
#include "common/pg/store.h"

namespace shareplane {

namespace task::v1 {
class Task;
}

struct ApiDeps {
  Database& db;
  ManilaClient& manila;
  const Policy& policy;
  std::string task_queue;
  // Scheduling: a host is up when its last heartbeat is younger than this.
  int service_down_time = 60;
  double ram_allocation_ratio = 1.5;
  double cpu_allocation_ratio = 16.0;
  // Shares attach to and detach from running servers on hosts that can
  // hot-plug them ([api] live_share_attach; false: Nova's 409).
  bool live_share_attach = true;
};

// "Invalid input for field/attribute <field>. Value: <v>. <why>"
std::string InvalidInput(const std::string& field, const nlohmann::json& value,
                         const std::string& why);
// 400 when the request has any query parameter (routes that take none).
absl::Status NoQuery(const HttpRequest& req);
absl::Status InstanceNotFound(const std::string& id);

// The server if it exists, is not deleted and the caller may see it
// (admin, or same project); otherwise NotFound, never PermissionDenied.
// With `lock`, holds a FOR UPDATE row lock until the transaction ends.
absl::StatusOr<Server> LoadServer(pqxx::transaction_base& w,
                                  const RequestContext& ctx,
                                  const std::string& id, bool lock);

// Nova's task-state rule (BEYOND.md section 1): a server with a task in
// flight takes no new share or lifecycle request. FailedPrecondition
// "Cannot '<op>' instance <id> while it is in task_state <state>".
absl::Status CheckNoTaskState(const std::string& op, const Server& server);

// Fills task_id and request ids, and writes the task to the outbox in the
// caller's transaction.
void EnqueueTask(pqxx::transaction_base& w, const std::string& queue,
                 const RequestContext& ctx, task::v1::Task& task);

// "http://<Host header>" (localhost without one), for links in responses.
std::string BaseUrl(const HttpRequest& req);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_API_COMMON_H_
