#include "api-service/servers_api.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api-service/faults.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
namespace taskpb = shareplane::task::v1;

ojson Links(const HttpRequest& req, const std::string& collection,
            const std::string& id) {
  const std::string base = BaseUrl(req);
  return ojson::array(
      {{{"rel", "self"},
        {"href", absl::StrCat(base, "/v2.1/", collection, "/", id)}},
       {{"rel", "bookmark"},
        {"href", absl::StrCat(base, "/", collection, "/", id)}}});
}

// Nova's hostId: sha224(project_id + host), so users can tell whether two
// of their servers share a host without learning its name.
std::string HostId(const Server& s) {
  if (s.host.empty()) return "";
  const std::string in = s.project_id + s.host;
  unsigned char digest[SHA224_DIGEST_LENGTH];
  SHA224(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  std::string out;
  for (unsigned char c : digest) absl::StrAppendFormat(&out, "%02x", c);
  return out;
}

ojson FlavorOf(const std::optional<Flavor>& f, const Server& s) {
  ojson j;
  j["vcpus"] = f ? f->vcpus : 0;
  j["ram"] = f ? f->ram_mb : 0;
  j["disk"] = f ? f->disk_gb : 0;
  j["ephemeral"] = f ? f->ephemeral_gb : 0;
  j["swap"] = f ? f->swap_mb : 0;
  j["original_name"] = f ? f->name : s.flavor_id;
  ojson specs = ojson::object();
  if (f) {
    for (const auto& [k, v] : f->extra_specs) specs[k] = v;
  }
  j["extra_specs"] = specs;
  return j;
}

ojson ServerJson(const Server& s, const std::optional<Flavor>& flavor,
                 const RequestContext& ctx, const ApiDeps& deps,
                 const HttpRequest& req) {
  ojson j;
  const std::string status = ServerStatus(s.vm_state, s.task_state);
  j["id"] = s.uuid;
  j["name"] = s.name;
  j["status"] = status;
  j["tenant_id"] = s.project_id;
  j["user_id"] = s.user_id;
  j["metadata"] = ojson::object();
  j["hostId"] = HostId(s);
  if (s.image_ref.empty()) {
    j["image"] = "";
  } else {
    j["image"] = {{"id", s.image_ref},
                  {"links", Links(req, "images", s.image_ref)}};
  }
  j["flavor"] = FlavorOf(flavor, s);
  j["created"] = s.created_at;
  j["updated"] = s.updated_at;
  j["addresses"] = ojson::object();
  j["accessIPv4"] = "";
  j["accessIPv6"] = "";
  j["links"] = Links(req, "servers", s.uuid);
  j["OS-DCF:diskConfig"] = "MANUAL";
  if (status == "ACTIVE" || status == "BUILD") j["progress"] = 0;
  j["OS-EXT-AZ:availability_zone"] = s.availability_zone;
  j["config_drive"] = "";
  j["key_name"] = nullptr;
  j["OS-SRV-USG:launched_at"] = nullptr;
  j["OS-SRV-USG:terminated_at"] = nullptr;
  j["security_groups"] = ojson::array({{{"name", "default"}}});
  j["OS-EXT-STS:task_state"] =
      s.task_state.empty() ? ojson(nullptr) : ojson(s.task_state);
  j["OS-EXT-STS:vm_state"] = s.vm_state;
  j["OS-EXT-STS:power_state"] = s.power_state;
  j["os-extended-volumes:volumes_attached"] = ojson::array();
  j["locked"] = false;
  j["description"] = nullptr;
  j["tags"] = ojson::array();
  j["trusted_image_certificates"] = nullptr;
  j["server_groups"] = ojson::array();
  if (deps.policy.Allows("os_compute_api:os-extended-server-attributes", ctx,
                         s.project_id)) {
    j["OS-EXT-SRV-ATTR:host"] = s.host.empty() ? ojson(nullptr) : ojson(s.host);
    j["OS-EXT-SRV-ATTR:hypervisor_hostname"] =
        s.host.empty() ? ojson(nullptr) : ojson(s.host);
    j["OS-EXT-SRV-ATTR:instance_name"] = "instance-" + s.uuid;
  }
  return j;
}

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

const std::set<std::string>& ServerCreateKeys() {
  static const auto* keys =
      new std::set<std::string>{"name",
                                "imageRef",
                                "flavorRef",
                                "adminPass",
                                "metadata",
                                "networks",
                                "OS-DCF:diskConfig",
                                "accessIPv4",
                                "accessIPv6",
                                "availability_zone",
                                "block_device_mapping",
                                "block_device_mapping_v2",
                                "config_drive",
                                "key_name",
                                "min_count",
                                "max_count",
                                "return_reservation_id",
                                "security_groups",
                                "user_data",
                                "description",
                                "tags",
                                "trusted_image_certificates",
                                "host",
                                "hypervisor_hostname",
                                "hostname"};
  return *keys;
}

// The blocked actions of spec section 5.
const std::set<std::string>& ShareBlockedActions() {
  static const auto* actions = new std::set<std::string>{
      "resize", "migrate", "os-migrateLive", "evacuate",
      "shelve", "suspend", "resume",         "rebuild"};
  return *actions;
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
    for (const Server& server :
         ListServers(w, all_tenants ? "" : ctx.project_id)) {
      if (!detail) {
        servers.push_back({{"id", server.uuid},
                           {"links", Links(req, "servers", server.uuid)},
                           {"name", server.name}});
        continue;
      }
      auto it = flavors.find(server.flavor_id);
      if (it == flavors.end()) {
        it = flavors.emplace(server.flavor_id, GetFlavor(w, server.flavor_id))
                 .first;
      }
      servers.push_back(ServerJson(server, it->second, ctx, deps_, req));
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
        out =
            ServerJson(server, GetFlavor(w, server.flavor_id), ctx, deps_, req);
        return absl::OkStatus();
      });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"server", out}});
}

HttpResponse ServersApi::Create(const RequestContext& ctx,
                                const HttpRequest& req) {
  auto body = ParseJsonBody(req.body);
  if (!body.ok()) return FaultFromStatus(body.status());
  if (!body->contains("server") || !(*body)["server"].is_object()) {
    return FaultResponse(
        400, InvalidInput("server", *body, "'server' is a required property"));
  }
  const json& in = (*body)["server"];
  for (auto& [k, v] : in.items()) {
    if (!ServerCreateKeys().count(k)) {
      return FaultResponse(
          400, InvalidInput("server", in,
                            absl::StrCat("Additional properties are not "
                                         "allowed ('",
                                         k, "' was unexpected)")));
    }
  }
  if (!in.contains("name") || !in["name"].is_string() ||
      in["name"].get<std::string>().empty() ||
      in["name"].get<std::string>().size() > 255) {
    return FaultResponse(
        400, InvalidInput("name", in.value("name", json()),
                          "'name' must be a string of 1 to 255 characters"));
  }
  if (!in.contains("flavorRef") ||
      !(in["flavorRef"].is_string() || in["flavorRef"].is_number_integer())) {
    return FaultResponse(
        400, InvalidInput("server", in, "'flavorRef' is a required property"));
  }
  if (in.contains("imageRef") && !in["imageRef"].is_string()) {
    return FaultResponse(400, InvalidInput("imageRef", in["imageRef"],
                                           "is not of type 'string'"));
  }
  if (in.contains("networks")) {
    const json& n = in["networks"];
    if (!n.is_array() && n != "auto" && n != "none") {
      return FaultResponse(
          400, InvalidInput("networks", n, "must be 'auto', 'none' or a list"));
    }
  }
  std::string flavor_ref = in["flavorRef"].is_string()
                               ? in["flavorRef"].get<std::string>()
                               : std::to_string(in["flavorRef"].get<int64_t>());
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
  out["links"] = Links(req, "servers", server.uuid);
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
    if (server.task_state == "deleting") return absl::OkStatus();
    UpdateServerState(w, server.uuid, server.version, server.vm_state,
                      "deleting", server.power_state);
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
  auto body = ParseJsonBody(req.body);
  if (!body.ok()) return FaultFromStatus(body.status());
  if (body->size() != 1) {
    return FaultResponse(400, "Malformed request body");
  }
  const std::string action = body->begin().key();
  const json& args = body->begin().value();
  const bool blocked = ShareBlockedActions().count(action) > 0;
  if (!blocked && action != "os-start" && action != "os-stop" &&
      action != "reboot") {
    return FaultResponse(400,
                         absl::StrCat("There is no such action: ", action));
  }
  bool hard = false;
  if (action == "reboot") {
    std::string type = args.is_object() ? args.value("type", "") : "";
    if (type != "HARD" && type != "SOFT") {
      return FaultResponse(
          400, InvalidInput("type",
                            args.is_object() && args.contains("type")
                                ? args["type"]
                                : json(nullptr),
                            "'type' must be one of 'HARD', 'SOFT'"));
    }
    hard = type == "HARD";
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
    // Starting (or rebooting into) a server needs its host's agent.
    if (op != "stop") {
      std::optional<ComputeHost> host =
          server.host.empty() ? std::nullopt : GetComputeHost(w, server.host);
      if (!host || host->heartbeat_age_seconds < 0 ||
          host->heartbeat_age_seconds >= deps_.service_down_time) {
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
