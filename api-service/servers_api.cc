#include "api-service/servers_api.h"

#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api-service/faults.h"
#include "api-service/request_schemas.h"
#include "api-service/server_views.h"
#include "common/core/ids.h"
#include "common/core/json_schema.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
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

// The blocked actions of spec section 5.
const std::set<std::string>& ShareBlockedActions() {
  static const auto* actions = new std::set<std::string>{
      "resize", "migrate", "os-migrateLive", "evacuate",
      "shelve", "suspend", "resume",         "rebuild"};
  return *actions;
}

bool WantsHostStatus(const RequestContext& ctx, const ApiDeps& deps,
                     const Server& server) {
  return ctx.version.AtLeast(2, 16) &&
         deps.policy.Allows("os_compute_api:servers:show:host_status", ctx,
                            server.project_id);
}

// host_status of the server's host, looked up once per host per request.
std::string HostStatusOf(pqxx::transaction_base& w, const Server& server,
                         std::map<std::string, std::string>& cache,
                         int service_down_time) {
  if (server.host.empty()) return "";
  auto it = cache.find(server.host);
  if (it == cache.end()) {
    it = cache
             .emplace(server.host, HostStatus(GetComputeHost(w, server.host),
                                              service_down_time))
             .first;
  }
  return it->second;
}

}  // namespace

std::string ServerStatus(const std::string& vm_state,
                         const std::string& task_state) {
  if (vm_state == "active") {
    if (task_state == "rebooting") return "REBOOT";
    if (task_state == "rebooting_hard") return "HARD_REBOOT";
    return "ACTIVE";
  }
  if (vm_state == "stopped") {
    return task_state == "rebooting_hard" ? "HARD_REBOOT" : "SHUTOFF";
  }
  if (vm_state == "building") return "BUILD";
  if (vm_state == "error") {
    return task_state == "rebooting_hard" ? "HARD_REBOOT" : "ERROR";
  }
  if (vm_state == "deleted") return "DELETED";
  return "UNKNOWN";
}

ServersApi::ServersApi(const ApiDeps& deps) : deps_(deps) {}

HttpResponse ServersApi::List(const RequestContext& ctx, const HttpRequest& req,
                              bool detail) {
  const std::string rule =
      detail ? "os_compute_api:servers:detail" : "os_compute_api:servers:index";
  auto query = ParseQuery(req.query);
  bool all_tenants = false;
  if (auto it = query.find("all_tenants"); it != query.end()) {
    std::string v = absl::AsciiStrToLower(it->second);
    all_tenants = v.empty() || v == "true" || v == "1" || v == "yes";
  }
  if (absl::Status s = deps_.policy.Enforce(rule, ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  if (all_tenants) {
    if (absl::Status s =
            deps_.policy.Enforce(rule + ":get_all_tenants", ctx, "");
        !s.ok()) {
      return FaultFromStatus(s);
    }
  }
  ojson servers = ojson::array();
  absl::Status s = deps_.db.Read([&](pqxx::transaction_base& w) {
    std::map<std::string, std::optional<Flavor>> flavors;
    std::map<std::string, std::string> host_status;
    for (const Server& server :
         ListServers(w, all_tenants ? "" : ctx.project_id)) {
      if (!detail) {
        servers.push_back(
            {{"id", server.uuid},
             {"links", ResourceLinks(req, "servers", server.uuid)},
             {"name", server.name}});
        continue;
      }
      auto it = flavors.find(server.flavor_id);
      if (it == flavors.end()) {
        it = flavors.emplace(server.flavor_id, GetFlavor(w, server.flavor_id))
                 .first;
      }
      ServerViewOptions options;
      options.detail = true;
      if (WantsHostStatus(ctx, deps_, server)) {
        options.host_status =
            HostStatusOf(w, server, host_status, deps_.service_down_time);
      }
      servers.push_back(
          ServerView(server, it->second, ctx, deps_, req, options));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"servers", servers}});
}

HttpResponse ServersApi::Show(const RequestContext& ctx, const HttpRequest& req,
                              const std::string& id) {
  ojson out;
  absl::Status s =
      deps_.db.Read([&](pqxx::transaction_base& w) -> absl::Status {
        SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, id, false));
        SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:servers:show",
                                                ctx, server.project_id));
        std::map<std::string, std::string> host_status;
        ServerViewOptions options;
        if (WantsHostStatus(ctx, deps_, server)) {
          options.host_status =
              HostStatusOf(w, server, host_status, deps_.service_down_time);
        }
        out = ServerView(server, GetFlavor(w, server.flavor_id), ctx, deps_,
                         req, options);
        return absl::OkStatus();
      });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"server", out}});
}

HttpResponse ServersApi::Create(const RequestContext& ctx,
                                const HttpRequest& req) {
  auto body = ParseAndValidate(req.body, CreateServerSchema());
  if (!body.ok()) return FaultFromStatus(body.status());
  const json& in = (*body)["server"];
  if (auto n = in.find("networks");
      n != in.end() && n->is_string() && *n != "auto" && *n != "none") {
    return FaultResponse(
        400, InvalidInput("networks", *n, "must be 'auto', 'none' or a list"));
  }
  const json& ref = in["flavorRef"];
  std::string flavor_ref = ref.is_string() ? ref.get<std::string>()
                                           : std::to_string(ref.get<int64_t>());
  // Nova accepts a flavor link as the reference too.
  if (size_t slash = flavor_ref.rfind('/'); slash != std::string::npos) {
    flavor_ref = flavor_ref.substr(slash + 1);
  }
  const std::string az = in.value("availability_zone", "");
  if (!az.empty() && az != "nova") {
    return FaultResponse(400,
                         "The requested availability zone is not available");
  }
  if (absl::Status s = deps_.policy.Enforce("os_compute_api:servers:create",
                                            ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  Server server;
  server.uuid = NewUuid();
  server.name = in["name"];
  server.project_id = ctx.project_id;
  server.user_id = ctx.user_id;
  server.image_ref = in.value("imageRef", "");
  server.availability_zone = "nova";
  server.pinned_availability_zone = az;
  bool scheduled = false;
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    std::optional<Flavor> flavor = GetFlavor(w, flavor_ref);
    if (!flavor) {
      return absl::InvalidArgumentError(
          absl::StrCat("Flavor ", flavor_ref, " could not be found."));
    }
    server.flavor_id = flavor->id;
    std::optional<std::string> host =
        PickHost(w, *flavor, RequiredTraits(*flavor), deps_.service_down_time,
                 deps_.ram_allocation_ratio, deps_.cpu_allocation_ratio);
    scheduled = host.has_value();
    server.host = host.value_or("");
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
    taskpb::Task task;
    task.set_kind(taskpb::TASK_KIND_CREATE_SERVER);
    task.set_server_uuid(server.uuid);
    EnqueueTask(w, deps_.task_queue, ctx, task);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  SP_LOG(Info) << "Server " << server.uuid << " created"
               << (scheduled ? " on host " + server.host
                             : ": no valid host was found");
  ojson out;
  out["id"] = server.uuid;
  out["links"] = ResourceLinks(req, "servers", server.uuid);
  out["OS-DCF:diskConfig"] = "MANUAL";
  out["security_groups"] = ojson::array({{{"name", "default"}}});
  out["adminPass"] = AdminPass();
  HttpResponse resp = JsonResponse(202, ojson{{"server", out}});
  resp.SetHeader("Location",
                 absl::StrCat(BaseUrl(req), "/v2.1/servers/", server.uuid));
  return resp;
}

HttpResponse ServersApi::Delete(const RequestContext& ctx,
                                const HttpRequest& req, const std::string& id) {
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
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
    taskpb::Task task;
    task.set_kind(taskpb::TASK_KIND_DELETE_SERVER);
    task.set_server_uuid(server.uuid);
    EnqueueTask(w, deps_.task_queue, ctx, task);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return HttpResponse{204, {}, ""};
}

HttpResponse ServersApi::Action(const RequestContext& ctx,
                                const HttpRequest& req, const std::string& id) {
  auto body = ParseAndValidate(req.body, ActionEnvelopeSchema());
  if (!body.ok()) return FaultFromStatus(body.status());
  const std::string action = body->begin().key();
  const json& args = body->begin().value();
  const json* schema = ActionSchema(action);
  if (schema == nullptr) {
    return FaultResponse(400,
                         absl::StrCat("There is no such action: ", action));
  }
  if (absl::Status valid = ValidateJson(*body, *schema); !valid.ok()) {
    return FaultFromStatus(valid);
  }
  const bool blocked = ShareBlockedActions().count(action) > 0;
  bool hard = false;
  if (action == "reboot") {
    hard = absl::AsciiStrToUpper(args["type"].get<std::string>()) == "HARD";
  }
  std::string op = action == "os-start"  ? "start"
                   : action == "os-stop" ? "stop"
                                         : action;
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, id, true));
    const std::vector<ShareMapping> mappings =
        ListShareMappings(w, server.uuid);
    if (blocked) {
      if (!mappings.empty()) {
        return absl::FailedPreconditionError(
            "Feature not supported with instances that have shares.");
      }
      return absl::UnimplementedError(
          absl::StrCat("Action ", action, " is not implemented."));
    }
    SP_RETURN_IF_ERROR(deps_.policy.Enforce("os_compute_api:servers:" + op, ctx,
                                            server.project_id));
    std::string task_state;
    taskpb::TaskKind kind;
    if (op == "start") {
      if (server.vm_state != "stopped" || !server.task_state.empty()) {
        return InvalidState(op, server);
      }
      task_state = "powering-on";
      kind = taskpb::TASK_KIND_START_SERVER;
    } else if (op == "stop") {
      if ((server.vm_state != "active" && server.vm_state != "error") ||
          !server.task_state.empty()) {
        return InvalidState(op, server);
      }
      task_state = "powering-off";
      kind = taskpb::TASK_KIND_STOP_SERVER;
    } else {
      const bool ok_state =
          hard ? (server.vm_state == "active" || server.vm_state == "stopped" ||
                  server.vm_state == "error")
               : server.vm_state == "active";
      if (!ok_state || !server.task_state.empty()) {
        return InvalidState(op, server);
      }
      task_state = hard ? "rebooting_hard" : "rebooting";
      kind = taskpb::TASK_KIND_REBOOT_SERVER;
    }
    // A server that was never placed (ERROR at create) has no host to act
    // on: Nova's check_instance_host (InstanceNotReady).
    if (server.host.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Instance ", server.uuid, " is not ready"));
    }
    // Starting (or rebooting into) a server needs its host's agent.
    if (op != "stop") {
      std::optional<ComputeHost> host =
          server.host.empty() ? std::nullopt : GetComputeHost(w, server.host);
      if (!host || !IsHostUp(*host, deps_.service_down_time)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "Cannot '", op, "' instance ", server.uuid, ": compute host ",
            server.host.empty() ? "(none)" : server.host, " is down"));
      }
    }
    for (const ShareMapping& m : mappings) {
      if (m.status == "attaching" || m.status == "detaching") {
        return absl::FailedPreconditionError(
            absl::StrCat("Cannot '", op, "' instance ", server.uuid,
                         " while share ", m.share_id, " is ", m.status));
      }
    }
    UpdateServerState(w, server.uuid, server.version, server.vm_state,
                      task_state, server.power_state);
    InsertInstanceAction(w, ctx.request_id, server.uuid, op, ctx.project_id,
                         ctx.user_id);
    taskpb::Task task;
    task.set_kind(kind);
    task.set_server_uuid(server.uuid);
    task.set_hard(hard);
    EnqueueTask(w, deps_.task_queue, ctx, task);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return HttpResponse{202, {}, ""};
}

}  // namespace shareplane
