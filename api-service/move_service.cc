// The moves of servers with their shares (BEYOND.md section 4): migrate,
// resize, confirmResize, revertResize and evacuate, with Nova's checks and
// answers. The destination is picked here, in the transaction that records
// the migration and makes the server hold room there
// (servers.migration_host), so concurrent placements see it; where Nova
// accepts a move and fails it later for want of a host, this answers 400
// at once.
#include "absl/strings/str_cat.h"
#include "api-service/server_helpers.h"
#include "api-service/server_service.h"
#include "common/core/ids.h"
#include "common/core/status.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

namespace taskpb = shareplane::task::v1;

absl::Status NoValidHost() {
  return absl::InvalidArgumentError(
      "No valid host was found. There are not enough hosts available.");
}

// The migration a confirm or revert acts on: Nova's 400 without one.
absl::StatusOr<ServerMigration> FinishedMigration(pqxx::transaction_base& w,
                                                  const std::string& op,
                                                  const Server& server) {
  if (server.vm_state != "resized" || !server.task_state.empty()) {
    return InvalidState(op, server);
  }
  auto m = GetServerMigration(w, server.uuid, {"finished"});
  if (!m) return absl::InvalidArgumentError("Instance has not been resized.");
  return *m;
}

// The record of a move of `server` from its host to `dest`.
ServerMigration NewMigration(const Server& server, const std::string& type,
                             const std::string& dest,
                             const std::string& new_flavor,
                             const std::string& status) {
  ServerMigration m;
  m.uuid = NewUuid();
  m.server_uuid = server.uuid;
  m.migration_type = type;
  m.source_compute = server.host;
  m.dest_compute = dest;
  m.old_flavor_id = server.flavor_id;
  m.new_flavor_id = new_flavor;
  m.status = status;
  m.project_id = server.project_id;
  m.user_id = server.user_id;
  return m;
}

}  // namespace

absl::StatusOr<std::string> ServerService::PickDestination(
    pqxx::transaction_base& w, const Server& server, const Flavor& flavor,
    bool has_shares, const std::string& host) {
  if (!host.empty()) {
    if (!GetComputeHost(w, host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Compute host ", host, " could not be found."));
    }
    if (host == server.host) {
      return absl::InvalidArgumentError(
          "Cannot migrate to the host where the server exists.");
    }
  }
  // Its shares need a host that mounts them.
  std::vector<std::string> required = RequiredTraits(flavor);
  if (has_shares) required.push_back("COMPUTE_STORAGE_VIRTIO_FS");
  std::optional<std::string> picked = PickHost(
      w, flavor, required, deps_.service_down_time, deps_.ram_allocation_ratio,
      deps_.cpu_allocation_ratio, {server.host}, host);
  if (!picked) return NoValidHost();
  return *picked;
}

absl::Status ServerService::Migrate(const RequestContext& ctx,
                                    const ServerActionRequest& req) {
  const bool resize = req.action == "resize";
  const std::string op = resize ? "resize" : "migrate";
  return deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, req.server_id, true));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce(
        resize             ? "os_compute_api:servers:resize"
        : req.host.empty() ? "os_compute_api:os-migrate-server:migrate"
                           : "os_compute_api:os-migrate-server:migrate:host",
        ctx, server.project_id));
    if ((server.vm_state != "active" && server.vm_state != "stopped") ||
        !server.task_state.empty()) {
      return InvalidState(op, server);
    }
    if (server.host.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Instance ", server.uuid, " is not ready"));
    }
    // The flavor first, as Nova's compute API looks at it.
    std::optional<Flavor> flavor =
        GetFlavor(w, resize ? req.flavor_ref : server.flavor_id);
    if (!flavor) {
      return absl::InvalidArgumentError(
          absl::StrCat("Flavor ", resize ? req.flavor_ref : server.flavor_id,
                       " could not be found."));
    }
    if (resize && flavor->id == server.flavor_id) {
      return absl::InvalidArgumentError(
          "When resizing, instances must change flavor!");
    }
    const std::vector<ShareMapping> mappings =
        ListShareMappings(w, server.uuid);
    SP_RETURN_IF_ERROR(
        CheckCanAct(w, op, server, mappings, deps_.service_down_time));
    SP_ASSIGN_OR_RETURN(
        std::string dest,
        PickDestination(w, server, *flavor, !mappings.empty(), req.host));
    InsertMigration(w, NewMigration(server, resize ? "resize" : "migration",
                                    dest, flavor->id, "pre-migrating"));
    if (!UpdateServerMove(w, server.uuid, server.version, server.vm_state,
                          "resize_prep", server.power_state,
                          {server.host, dest, server.flavor_id, flavor->id})) {
      return absl::AbortedError("The server changed meanwhile; retry.");
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid, op, ctx.project_id,
                         ctx.user_id);
    Enqueue(w, deps_, ctx, taskpb::TASK_KIND_MIGRATE_SERVER, server.uuid);
    return absl::OkStatus();
  });
}

absl::Status ServerService::EndResize(const RequestContext& ctx,
                                      const ServerActionRequest& req) {
  const bool confirm = req.action == "confirmResize";
  return deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, req.server_id, true));
    SP_RETURN_IF_ERROR(
        deps_.policy.Enforce(confirm ? "os_compute_api:servers:confirm_resize"
                                     : "os_compute_api:servers:revert_resize",
                             ctx, server.project_id));
    SP_ASSIGN_OR_RETURN(ServerMigration m,
                        FinishedMigration(w, req.action, server));
    if (!SetMigrationStatus(w, m.id, "finished",
                            confirm ? "confirming" : "reverting")) {
      return absl::AbortedError("The server changed meanwhile; retry.");
    }
    // Nova shows a revert as REVERT_RESIZE; a confirm keeps VERIFY_RESIZE.
    if (!confirm &&
        !UpdateServerState(w, server.uuid, server.version, server.vm_state,
                           "resize_reverting", server.power_state)) {
      return absl::AbortedError("The server changed meanwhile; retry.");
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid,
                         confirm ? "confirmResize" : "revertResize",
                         ctx.project_id, ctx.user_id);
    Enqueue(w, deps_, ctx,
            confirm ? taskpb::TASK_KIND_CONFIRM_RESIZE
                    : taskpb::TASK_KIND_REVERT_RESIZE,
            server.uuid);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> ServerService::Evacuate(
    const RequestContext& ctx, const ServerActionRequest& req) {
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, req.server_id, true));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:os-evacuate", ctx,
                                            server.project_id));
    if (!req.host.empty() && !GetComputeHost(w, req.host)) {
      return absl::NotFoundError(
          absl::StrCat("Compute host ", req.host, " not found."));
    }
    if (!req.host.empty() && req.host == server.host) {
      return absl::InvalidArgumentError(
          "The target host can't be the same one.");
    }
    if (req.force && req.host.empty()) {
      return absl::InvalidArgumentError(
          "Can't force to a non-provided destination");
    }
    const std::string& vm = server.vm_state;
    if ((vm != "active" && vm != "stopped" && vm != "error") ||
        !server.task_state.empty() || server.host.empty()) {
      return InvalidState("evacuate", server);
    }
    std::optional<ComputeHost> source = GetComputeHost(w, server.host);
    if (source && IsHostUp(*source, deps_.service_down_time)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Compute service of ", server.host, " is still in use."));
    }
    const std::vector<ShareMapping> mappings =
        ListShareMappings(w, server.uuid);
    // The host is down: only the shares' states are checked.
    SP_RETURN_IF_ERROR(CheckSharesSettled("evacuate", server, mappings));
    std::optional<Flavor> flavor = GetFlavor(w, server.flavor_id);
    if (!flavor) {
      return absl::FailedPreconditionError(
          absl::StrCat("Flavor ", server.flavor_id, " could not be found."));
    }
    SP_ASSIGN_OR_RETURN(
        std::string dest,
        PickDestination(w, server, *flavor, !mappings.empty(), req.host));
    ServerMigration m =
        NewMigration(server, "evacuation", dest, server.flavor_id, "accepted");
    // From 2.95 an evacuated server is left stopped on its new host.
    m.stop_after = ctx.version.AtLeast(2, 95);
    InsertMigration(w, m);
    if (!UpdateServerMove(
            w, server.uuid, server.version, server.vm_state, "rebuilding",
            server.power_state,
            {server.host, dest, server.flavor_id, server.flavor_id})) {
      return absl::AbortedError("The server changed meanwhile; retry.");
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid, "evacuate",
                         ctx.project_id, ctx.user_id);
    Enqueue(w, deps_, ctx, taskpb::TASK_KIND_EVACUATE_SERVER, server.uuid);
    return absl::OkStatus();
  }));
  return req.admin_pass.empty() ? AdminPass() : req.admin_pass;
}

}  // namespace shareplane
