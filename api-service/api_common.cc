#include "api-service/api_common.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/core/ids.h"
#include "common/core/json_body.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

std::string InvalidInput(const std::string& field, const nlohmann::json& value,
                         const std::string& why) {
  std::string v = PythonRepr(value, false);
  return absl::StrCat("Invalid input for field/attribute ", field,
                      ". Value: ", v, ". ", why);
}

absl::Status NoQuery(const HttpRequest& req) {
  if (req.query.empty()) return absl::OkStatus();
  std::string keys;
  for (const auto& [k, v] : ParseQuery(req.query)) {
    absl::StrAppend(&keys, keys.empty() ? "" : ", ", "'", k, "'");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "Invalid input for query parameters ", keys, ". Value: ", req.query,
      ". Additional properties are not allowed (", keys, " was unexpected)"));
}

absl::Status InstanceNotFound(const std::string& id) {
  return absl::NotFoundError(
      absl::StrCat("Instance ", id, " could not be found."));
}

absl::StatusOr<Server> LoadServer(pqxx::transaction_base& w,
                                  const RequestContext& ctx,
                                  const std::string& id, bool lock) {
  if (!IsUuid(id)) return InstanceNotFound(id);
  const std::string uuid = absl::AsciiStrToLower(id);
  if (lock) {
    w.exec_params("SELECT 1 FROM servers WHERE uuid = $1 FOR UPDATE", uuid);
  }
  std::optional<Server> s = GetServer(w, uuid);
  if (!s || (!ctx.is_admin && s->project_id != ctx.project_id)) {
    return InstanceNotFound(id);
  }
  return *s;
}

absl::Status CheckNoTaskState(const std::string& op, const Server& server) {
  if (server.task_state.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("Cannot '", op, "' instance ", server.uuid,
                   " while it is in task_state ", server.task_state));
}

void EnqueueTask(pqxx::transaction_base& w, const std::string& queue,
                 const RequestContext& ctx, task::v1::Task& task) {
  task.set_task_id(NewUuid());
  task.set_request_id(ctx.request_id);
  task.set_global_request_id(ctx.global_request_id);
  task.set_project_id(ctx.project_id);
  task.set_user_id(ctx.user_id);
  // The conductor calls Manila on the user's behalf with it (plus its own
  // service token) when it runs with Keystone.
  task.set_auth_token(ctx.auth_token);
  std::string bytes;
  task.SerializeToString(&bytes);
  InsertOutbox(w, queue, bytes, task.request_id());
}

std::string BaseUrl(const HttpRequest& req) {
  std::string host = req.Header("Host");
  return absl::StrCat("http://", host.empty() ? "localhost" : host);
}

}  // namespace shareplane
