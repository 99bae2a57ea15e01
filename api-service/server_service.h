// Servers as typed calls: list, show, create (scheduled onto an up host with
// room and the flavor's required traits), delete and the actions os-start,
// os-stop and reboot with Nova's 409s, plus the actions refused while
// shares are attached. Validation, policy, the store and the outbox live
// here; the REST resource (servers_api.h) and the gRPC front (grpc_front.h)
// are adapters. Thread-safe; each call blocks on PostgreSQL.
#ifndef SHAREPLANE_API_SERVICE_SERVER_SERVICE_H_
#define SHAREPLANE_API_SERVICE_SERVER_SERVICE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api-service/api_common.h"
#include "api-service/request_context.h"
#include "common/pg/store.h"

namespace shareplane {

// What a view renders of one server.
struct ServerRecord {
  Server server;
  std::optional<Flavor> flavor;  // only with details
  // host_status (2.16, callers the policy allows): "UP", "DOWN",
  // "MAINTENANCE" or "" (no host, or not shown).
  std::string host_status;
};

struct ListServersRequest {
  bool detail = false;       // flavors and host status too
  bool all_tenants = false;  // every project's (admins)
};

struct CreateServerRequest {
  std::string name;
  std::string flavor_ref;  // an id or a link ending in one
  std::string image_ref;
  std::string availability_zone;  // "" or "nova"
};

struct CreatedServer {
  Server server;  // host empty and vm_state "error" when none had room
  std::string admin_pass;
};

struct ServerActionRequest {
  std::string server_id;
  std::string action;  // Nova's key: "os-start", "os-stop", "reboot", ...
  bool hard = false;   // reboot only
  std::string image_ref, name;  // rebuild only (name: "" keeps it)
  std::string flavor_ref;       // resize only
  std::string host;             // migrate and evacuate: "" lets us pick
  std::string admin_pass;       // evacuate only
  bool force = false;           // evacuate (2.29..2.67)
};

// The fields of a create as POST /servers' schema sees them (the one place
// its rules live) plus the availability zone; the flavor reference comes
// back as an id.
absl::StatusOr<CreateServerRequest> ValidateCreateServer(
    CreateServerRequest req);

class ServerService {
 public:
  explicit ServerService(const ApiDeps& deps);

  absl::StatusOr<std::vector<ServerRecord>> List(const RequestContext& ctx,
                                                 const ListServersRequest& req);
  absl::StatusOr<ServerRecord> Show(const RequestContext& ctx,
                                    const std::string& id);
  absl::StatusOr<CreatedServer> Create(const RequestContext& ctx,
                                       const CreateServerRequest& req);
  absl::Status Delete(const RequestContext& ctx, const std::string& id);
  absl::Status Act(const RequestContext& ctx, const ServerActionRequest& req);
  // Rebuild (BEYOND.md section 4): the server keeps its shares and mounts;
  // its new image and the password Nova shows for it.
  absl::StatusOr<CreatedServer> Rebuild(const RequestContext& ctx,
                                        const ServerActionRequest& req);
  // move_service.cc: migrate and resize; confirmResize and revertResize;
  // evacuate (its adminPass).
  absl::Status Migrate(const RequestContext& ctx,
                       const ServerActionRequest& req);
  absl::Status EndResize(const RequestContext& ctx,
                         const ServerActionRequest& req);
  absl::StatusOr<std::string> Evacuate(const RequestContext& ctx,
                                       const ServerActionRequest& req);

 private:
  // Schedules an offloaded server being unshelved (with the virtiofs trait
  // when it has shares) and places it there; FailedPrecondition (Nova's
  // NoValidHost words) when no host has room.
  absl::Status PlaceOffloaded(pqxx::transaction_base& w, Server& server,
                              bool has_shares);
  // A host for the server to move to, other than its own: `host` when
  // given (400 when unknown or its own), with room and the traits.
  absl::StatusOr<std::string> PickDestination(pqxx::transaction_base& w,
                                              const Server& server,
                                              const Flavor& flavor,
                                              bool has_shares,
                                              const std::string& host);
  std::string HostStatusFor(pqxx::transaction_base& w,
                            const RequestContext& ctx, const Server& server,
                            std::map<std::string, std::string>& cache);

  const ApiDeps& deps_;
};

// Nova's status for a vm_state/task_state pair (ACTIVE, SHUTOFF, BUILD,
// REBOOT, HARD_REBOOT, REBUILD, SHELVED, SHELVED_OFFLOADED, ERROR, DELETED).
std::string ServerStatus(const std::string& vm_state,
                         const std::string& task_state);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SERVER_SERVICE_H_
