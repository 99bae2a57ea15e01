#include "api-service/server_service.h"

#include <openssl/rand.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "api-service/request_schemas.h"
#include "api-service/server_helpers.h"
#include "api-service/server_views.h"
#include "common/core/ids.h"
#include "common/core/json_schema.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

namespace taskpb = shareplane::task::v1;

absl::Status InvalidState(const std::string& op, const Server& s) {
  if (!s.task_state.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Cannot '", op, "' instance ", s.uuid,
                     " while it is in task_state ", s.task_state));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("Cannot '", op, "' instance ", s.uuid,
                   " while it is in vm_state ", s.vm_state));
}

std::vector<std::string> RequiredTraits(const Flavor& f) {
  std::vector<std::string> out;
  for (const auto& [k, v] : f.extra_specs) {
    if (k.rfind("trait:", 0) == 0 && v == "required")
      out.push_back(k.substr(6));
  }
  return out;
}

std::string AdminPass() {
  static const char kChars[] =
      "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof(bytes));
  std::string out;
  for (unsigned char b : bytes) out.push_back(kChars[b % (sizeof(kChars) - 1)]);
  return out;
}

namespace {

// The blocked actions of spec section 5 (rebuild, shelve, migrate, resize
// and evacuate are not: BEYOND.md section 4).
bool IsShareBlockedAction(const std::string& action) {
  static const auto* actions =
      new std::set<std::string>{"os-migrateLive", "suspend", "resume"};
  return actions->count(action) > 0;
}

// Live migration of a server with shares (BEYOND.md section 4): 409 naming
// what virtiofs live migration needs and what the server's host has.
absl::Status LiveMigrationWithShares(pqxx::transaction_base& w,
                                     const Server& server) {
  std::optional<ComputeHost> host =
      server.host.empty() ? std::nullopt : GetComputeHost(w, server.host);
  const std::string has =
      host ? absl::StrCat("host ", host->hostname, " has ",
                          host->hypervisor_type, " ", host->hypervisor_version,
                          " and libvirt ", host->libvirt_version)
           : "the server has no host";
  return absl::FailedPreconditionError(absl::StrCat(
      "Cannot live-migrate instance ", server.uuid,
      " with shares: virtiofs live migration needs QEMU >= 8.2, virtiofsd >= "
      "1.11 (--migration-mode) and libvirt >= 10.5 on both hosts; ",
      has, "."));
}

// What an accepted lifecycle action sets and queues.
struct ActionPlan {
  std::string task_state;
  taskpb::TaskKind kind;
};

// Nova's state checks for start, stop and reboot (`op`), on the server as
// it is; FailedPrecondition in Nova's words when it may not.
absl::StatusOr<ActionPlan> PlanAction(const std::string& op, bool hard,
                                      const Server& server) {
  const std::string& vm = server.vm_state;
  bool allowed;
  ActionPlan plan;
  if (op == "start") {
    allowed = vm == "stopped";
    plan = {"powering-on", taskpb::TASK_KIND_START_SERVER};
  } else if (op == "stop") {
    allowed = vm == "active" || vm == "error";
    plan = {"powering-off", taskpb::TASK_KIND_STOP_SERVER};
  } else if (op == "shelve") {
    allowed = vm == "active" || vm == "stopped";
    plan = {"shelving", taskpb::TASK_KIND_SHELVE_SERVER};
  } else if (op == "shelve_offload") {
    allowed = vm == "shelved";
    plan = {"shelving_offloading", taskpb::TASK_KIND_SHELVE_OFFLOAD_SERVER};
  } else if (op == "unshelve") {
    allowed = vm == "shelved" || vm == "shelved_offloaded";
    plan = {"unshelving", taskpb::TASK_KIND_UNSHELVE_SERVER};
  } else {
    allowed = hard ? (vm == "active" || vm == "stopped" || vm == "error")
                   : vm == "active";
    plan = {hard ? "rebooting_hard" : "rebooting",
            taskpb::TASK_KIND_REBOOT_SERVER};
  }
  if (!allowed || !server.task_state.empty()) return InvalidState(op, server);
  // A server that was never placed (ERROR at create) has no host to act
  // on: Nova's check_instance_host (InstanceNotReady). An offloaded one is
  // placed by its unshelve.
  if (server.host.empty() && vm != "shelved_offloaded") {
    return absl::FailedPreconditionError(
        absl::StrCat("Instance ", server.uuid, " is not ready"));
  }
  return plan;
}

}  // namespace

void Enqueue(pqxx::transaction_base& w, const ApiDeps& deps,
             const RequestContext& ctx, taskpb::TaskKind kind,
             const std::string& server_uuid, bool hard) {
  taskpb::Task task;
  task.set_kind(kind);
  task.set_server_uuid(server_uuid);
  task.set_hard(hard);
  EnqueueTask(w, deps.task_queue, ctx, task);
}

// What else must hold: starting (or rebooting into) a server needs its
// host's agent, and no share of it may be between states.
absl::Status CheckCanAct(pqxx::transaction_base& w, const std::string& op,
                         const Server& server,
                         const std::vector<ShareMapping>& mappings,
                         int service_down_time) {
  if (op != "stop") {
    std::optional<ComputeHost> host = GetComputeHost(w, server.host);
    if (!host || !IsHostUp(*host, service_down_time)) {
      return absl::FailedPreconditionError(
          absl::StrCat("Cannot '", op, "' instance ", server.uuid,
                       ": compute host ", server.host, " is down"));
    }
  }
  return CheckSharesSettled(op, server, mappings);
}

absl::Status CheckSharesSettled(const std::string& op, const Server& server,
                                const std::vector<ShareMapping>& mappings) {
  for (const ShareMapping& m : mappings) {
    if (m.status == "attaching" || m.status == "detaching") {
      return absl::FailedPreconditionError(
          absl::StrCat("Cannot '", op, "' instance ", server.uuid,
                       " while share ", m.share_id, " is ", m.status));
    }
  }
  return absl::OkStatus();
}

std::string ServerStatus(const std::string& vm_state,
                         const std::string& task_state) {
  // Nova's: a rebuild shows as REBUILD from every state it is allowed in.
  if (task_state == "rebuilding") return "REBUILD";
  if (vm_state == "active") {
    if (task_state == "rebooting") return "REBOOT";
    if (task_state == "rebooting_hard") return "HARD_REBOOT";
    return "ACTIVE";
  }
  // Nova's: every step of a migration or resize shows as RESIZE.
  if ((vm_state == "active" || vm_state == "stopped") &&
      task_state.rfind("resize_", 0) == 0) {
    return "RESIZE";
  }
  if (vm_state == "resized") {
    return task_state == "resize_reverting" ? "REVERT_RESIZE" : "VERIFY_RESIZE";
  }
  if (vm_state == "stopped") {
    return task_state == "rebooting_hard" ? "HARD_REBOOT" : "SHUTOFF";
  }
  if (vm_state == "building") return "BUILD";
  if (vm_state == "error") {
    return task_state == "rebooting_hard" ? "HARD_REBOOT" : "ERROR";
  }
  if (vm_state == "deleted") return "DELETED";
  if (vm_state == "shelved") return "SHELVED";
  if (vm_state == "shelved_offloaded") return "SHELVED_OFFLOADED";
  return "UNKNOWN";
}

absl::StatusOr<CreateServerRequest> ValidateCreateServer(
    CreateServerRequest req) {
  nlohmann::json server = {{"name", req.name}, {"flavorRef", req.flavor_ref}};
  if (!req.image_ref.empty()) server["imageRef"] = req.image_ref;
  if (!req.availability_zone.empty()) {
    server["availability_zone"] = req.availability_zone;
  }
  SP_RETURN_IF_ERROR(
      ValidateJson(nlohmann::json{{"server", server}}, CreateServerSchema()));
  if (!req.availability_zone.empty() && req.availability_zone != "nova") {
    return absl::InvalidArgumentError(
        "The requested availability zone is not available");
  }
  // Nova accepts a flavor link as the reference too.
  if (size_t slash = req.flavor_ref.rfind('/'); slash != std::string::npos) {
    req.flavor_ref = req.flavor_ref.substr(slash + 1);
  }
  return req;
}

ServerService::ServerService(const ApiDeps& deps) : deps_(deps) {}

std::string ServerService::HostStatusFor(
    pqxx::transaction_base& w, const RequestContext& ctx, const Server& server,
    std::map<std::string, std::string>& cache) {
  if (server.host.empty() || !ctx.version.AtLeast(2, 16) ||
      !deps_.policy.Allows("os_compute_api:servers:show:host_status", ctx,
                           server.project_id)) {
    return "";
  }
  // Looked up once per host per request.
  auto it = cache.find(server.host);
  if (it == cache.end()) {
    it = cache
             .emplace(server.host, HostStatus(GetComputeHost(w, server.host),
                                              deps_.service_down_time))
             .first;
  }
  return it->second;
}

absl::StatusOr<std::vector<ServerRecord>> ServerService::List(
    const RequestContext& ctx, const ListServersRequest& req) {
  const std::string rule = req.detail ? "os_compute_api:servers:detail"
                                      : "os_compute_api:servers:index";
  SP_RETURN_IF_ERROR(deps_.policy.Enforce(rule, ctx, ctx.project_id));
  if (req.all_tenants) {
    SP_RETURN_IF_ERROR(
        deps_.policy.Enforce(rule + ":get_all_tenants", ctx, ""));
  }
  std::vector<ServerRecord> out;
  SP_RETURN_IF_ERROR(deps_.db.Read([&](pqxx::transaction_base& w) {
    std::map<std::string, std::optional<Flavor>> flavors;
    std::map<std::string, std::string> host_status;
    for (Server& server :
         ListServers(w, req.all_tenants ? "" : ctx.project_id)) {
      ServerRecord r{std::move(server), std::nullopt, ""};
      if (req.detail) {
        auto it = flavors.find(r.server.flavor_id);
        if (it == flavors.end()) {
          it =
              flavors
                  .emplace(r.server.flavor_id, GetFlavor(w, r.server.flavor_id))
                  .first;
        }
        r.flavor = it->second;
        r.host_status = HostStatusFor(w, ctx, r.server, host_status);
      }
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ServerRecord> ServerService::Show(const RequestContext& ctx,
                                                 const std::string& id) {
  ServerRecord out;
  SP_RETURN_IF_ERROR(
      deps_.db.Read([&](pqxx::transaction_base& w) -> absl::Status {
        SP_ASSIGN_OR_RETURN(out.server, LoadServer(w, ctx, id, false));
        SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:servers:show",
                                                ctx, out.server.project_id));
        std::map<std::string, std::string> cache;
        out.host_status = HostStatusFor(w, ctx, out.server, cache);
        out.flavor = GetFlavor(w, out.server.flavor_id);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<CreatedServer> ServerService::Create(
    const RequestContext& ctx, const CreateServerRequest& request) {
  SP_ASSIGN_OR_RETURN(const CreateServerRequest req,
                      ValidateCreateServer(request));
  SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:servers:create", ctx,
                                          ctx.project_id));
  Server server;
  server.uuid = NewUuid();
  server.name = req.name;
  server.project_id = ctx.project_id;
  server.user_id = ctx.user_id;
  server.image_ref = req.image_ref;
  server.availability_zone = "nova";
  server.pinned_availability_zone = req.availability_zone;
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    std::optional<Flavor> flavor = GetFlavor(w, req.flavor_ref);
    if (!flavor) {
      return absl::InvalidArgumentError(
          absl::StrCat("Flavor ", req.flavor_ref, " could not be found."));
    }
    server.flavor_id = flavor->id;
    server.host =
        PickHost(w, *flavor, RequiredTraits(*flavor), deps_.service_down_time,
                 deps_.ram_allocation_ratio, deps_.cpu_allocation_ratio)
            .value_or("");
    const bool scheduled = !server.host.empty();
    // No valid host: the server exists in ERROR, as in Nova.
    server.vm_state = scheduled ? "building" : "error";
    server.task_state = scheduled ? "spawning" : "";
    InsertServer(w, server);
    InsertInstanceAction(w, ctx.request_id, server.uuid, "create",
                         ctx.project_id, ctx.user_id);
    if (!scheduled) {
      RecordActionEvent(w, server.uuid, ctx.request_id, "conductor_schedule",
                        "Error", "No valid host was found.");
      return absl::OkStatus();
    }
    Enqueue(w, deps_, ctx, taskpb::TASK_KIND_CREATE_SERVER, server.uuid);
    return absl::OkStatus();
  }));
  SP_LOG(Info) << "Server " << server.uuid << " created"
               << (server.host.empty() ? ": no valid host was found"
                                       : " on host " + server.host);
  return CreatedServer{std::move(server), AdminPass()};
}

absl::Status ServerService::Delete(const RequestContext& ctx,
                                   const std::string& id) {
  return deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, id, true));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:servers:delete",
                                            ctx, server.project_id));
    // A delete of a server being deleted gets its own action and task, as
    // in Nova: its action ends with an event once the server is gone.
    if (server.task_state != "deleting") {
      UpdateServerState(w, server.uuid, server.version, server.vm_state,
                        "deleting", server.power_state);
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid, "delete",
                         ctx.project_id, ctx.user_id);
    Enqueue(w, deps_, ctx, taskpb::TASK_KIND_DELETE_SERVER, server.uuid);
    return absl::OkStatus();
  });
}

absl::Status ServerService::PlaceOffloaded(pqxx::transaction_base& w,
                                           Server& server, bool has_shares) {
  std::optional<Flavor> flavor = GetFlavor(w, server.flavor_id);
  if (!flavor) {
    return absl::FailedPreconditionError(
        absl::StrCat("Flavor ", server.flavor_id, " could not be found."));
  }
  // Its shares need a host that mounts them (BEYOND.md section 4).
  std::vector<std::string> required = RequiredTraits(*flavor);
  if (has_shares) required.push_back("COMPUTE_STORAGE_VIRTIO_FS");
  std::optional<std::string> host =
      PickHost(w, *flavor, required, deps_.service_down_time,
               deps_.ram_allocation_ratio, deps_.cpu_allocation_ratio);
  if (!host) {
    return absl::FailedPreconditionError(
        "No valid host was found. There are not enough hosts available.");
  }
  if (!PlaceServer(w, server.uuid, server.version, *host)) {
    return absl::AbortedError("The server changed meanwhile; retry.");
  }
  server.host = *host;
  ++server.version;
  return absl::OkStatus();
}

absl::StatusOr<CreatedServer> ServerService::Rebuild(
    const RequestContext& ctx, const ServerActionRequest& req) {
  CreatedServer out;
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, req.server_id, true));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:servers:rebuild",
                                            ctx, server.project_id));
    const std::string& vm = server.vm_state;
    if ((vm != "active" && vm != "stopped" && vm != "error") ||
        !server.task_state.empty()) {
      return InvalidState("rebuild", server);
    }
    if (server.host.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Instance ", server.uuid, " is not ready"));
    }
    SP_RETURN_IF_ERROR(CheckCanAct(w, "rebuild", server,
                                   ListShareMappings(w, server.uuid),
                                   deps_.service_down_time));
    if (!StartServerRebuild(w, server.uuid, server.version, req.image_ref,
                            req.name)) {
      return absl::AbortedError("The server changed meanwhile; retry.");
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid, "rebuild",
                         ctx.project_id, ctx.user_id);
    Enqueue(w, deps_, ctx, taskpb::TASK_KIND_REBUILD_SERVER, server.uuid);
    out.server = server;
    return absl::OkStatus();
  }));
  out.admin_pass = AdminPass();
  return out;
}

absl::Status ServerService::Act(const RequestContext& ctx,
                                const ServerActionRequest& req) {
  const std::string& action = req.action;
  const bool blocked = IsShareBlockedAction(action);
  static const auto* ops = new std::map<std::string, std::string>{
      {"os-start", "start"},    {"os-stop", "stop"},
      {"reboot", "reboot"},     {"shelve", "shelve"},
      {"unshelve", "unshelve"}, {"shelveOffload", "shelve_offload"}};
  auto known = ops->find(action);
  if (!blocked && known == ops->end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("There is no such action: ", action));
  }
  const std::string op = known != ops->end() ? known->second : action;
  const bool shelving =
      op == "shelve" || op == "unshelve" || op == "shelve_offload";
  const std::string policy = shelving ? "os_compute_api:os-shelve:" + op
                                      : "os_compute_api:servers:" + op;
  return deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, req.server_id, true));
    const std::vector<ShareMapping> mappings =
        ListShareMappings(w, server.uuid);
    if (blocked) {
      if (!mappings.empty() && action == "os-migrateLive") {
        return LiveMigrationWithShares(w, server);
      }
      if (!mappings.empty()) {
        return absl::FailedPreconditionError(
            "Feature not supported with instances that have shares.");
      }
      return absl::UnimplementedError(
          absl::StrCat("Action ", action, " is not implemented."));
    }
    SP_RETURN_IF_ERROR(deps_.policy.Enforce(policy, ctx, server.project_id));
    SP_ASSIGN_OR_RETURN(ActionPlan plan, PlanAction(op, req.hard, server));
    if (server.host.empty()) {  // an offloaded server's unshelve
      SP_RETURN_IF_ERROR(PlaceOffloaded(w, server, !mappings.empty()));
    }
    SP_RETURN_IF_ERROR(
        CheckCanAct(w, op, server, mappings, deps_.service_down_time));
    UpdateServerState(w, server.uuid, server.version, server.vm_state,
                      plan.task_state, server.power_state);
    // Nova's instance action names.
    InsertInstanceAction(w, ctx.request_id, server.uuid,
                         op == "shelve_offload" ? "shelveOffload" : op,
                         ctx.project_id, ctx.user_id);
    Enqueue(w, deps_, ctx, plan.kind, server.uuid, req.hard);
    return absl::OkStatus();
  });
}

}  // namespace shareplane
