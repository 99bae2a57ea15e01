#include "api-service/resources_api.h"

#include "absl/strings/str_cat.h"
#include "api-service/faults.h"
#include "common/status.h"

namespace shareplane {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

ojson FlavorJson(const Flavor& f, const HttpRequest& req, bool detail) {
  ojson j;
  j["id"] = f.id;
  j["name"] = f.name;
  if (detail) {
    j["ram"] = f.ram_mb;
    j["disk"] = f.disk_gb;
    j["swap"] = f.swap_mb == 0 ? ojson("") : ojson(f.swap_mb);
    j["OS-FLV-EXT-DATA:ephemeral"] = f.ephemeral_gb;
    j["OS-FLV-DISABLED:disabled"] = false;
    j["vcpus"] = f.vcpus;
    j["os-flavor-access:is_public"] = f.is_public;
    j["rxtx_factor"] = 1.0;
  }
  j["description"] =
      f.description.empty() ? ojson(nullptr) : ojson(f.description);
  const std::string base = BaseUrl(req);
  j["links"] = ojson::array(
      {{{"rel", "self"}, {"href", base + "/v2.1/flavors/" + f.id}},
       {{"rel", "bookmark"}, {"href", base + "/flavors/" + f.id}}});
  if (detail) {
    ojson specs = ojson::object();
    for (const auto& [k, v] : f.extra_specs) specs[k] = v;
    j["extra_specs"] = specs;
  }
  return j;
}

absl::Status FlavorNotFound(const std::string& id) {
  return absl::NotFoundError(
      absl::StrCat("Flavor ", id, " could not be found."));
}

// A host is up while its heartbeat is younger than service_down_time.
bool IsUp(const ComputeHost& h, const ApiDeps& deps) {
  return h.heartbeat_age_seconds >= 0 &&
         h.heartbeat_age_seconds < deps.service_down_time;
}

bool ValidName(const json& v, size_t max) {
  return v.is_string() && !v.get<std::string>().empty() &&
         v.get<std::string>().size() <= max;
}

}  // namespace

ResourcesApi::ResourcesApi(const ApiDeps& deps) : deps_(deps) {}

HttpResponse ResourcesApi::ListFlavors(const RequestContext& ctx,
                                       const HttpRequest& req, bool detail) {
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) {
    for (const Flavor& f : shareplane::ListFlavors(w)) {
      if (f.is_public || ctx.is_admin)
        out.push_back(FlavorJson(f, req, detail));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"flavors", out}});
}

HttpResponse ResourcesApi::ShowFlavor(const RequestContext& ctx,
                                      const HttpRequest& req,
                                      const std::string& id) {
  ojson out;
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    std::optional<Flavor> f = GetFlavor(w, id);
    if (!f) return FlavorNotFound(id);
    out = FlavorJson(*f, req, true);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"flavor", out}});
}

HttpResponse ResourcesApi::CreateFlavor(const RequestContext& ctx,
                                        const HttpRequest& req) {
  if (absl::Status s = deps_.policy.Enforce(
          "os_compute_api:os-flavor-manage:create", ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  auto body = ParseJsonBody(req.body);
  if (!body.ok()) return FaultFromStatus(body.status());
  if (!body->contains("flavor") || !(*body)["flavor"].is_object()) {
    return FaultResponse(
        400, InvalidInput("flavor", *body, "'flavor' is a required property"));
  }
  const json& in = (*body)["flavor"];
  Flavor f;
  if (!ValidName(in.value("name", json()), 255)) {
    return FaultResponse(400, InvalidInput("name", in.value("name", json()),
                                           "'name' is a required string"));
  }
  f.name = in["name"];
  for (const char* key : {"ram", "vcpus", "disk"}) {
    const json& v = in.value(key, json());
    if (!v.is_number_integer() || v.get<int64_t>() < (key[0] == 'd' ? 0 : 1)) {
      return FaultResponse(
          400, InvalidInput(key, v,
                            absl::StrCat("'", key, "' must be an integer >= ",
                                         key[0] == 'd' ? 0 : 1)));
    }
  }
  f.ram_mb = in["ram"];
  f.vcpus = in["vcpus"];
  f.disk_gb = in["disk"];
  f.ephemeral_gb = in.value("OS-FLV-EXT-DATA:ephemeral", 0);
  f.swap_mb = in.value("swap", 0);
  f.is_public = in.value("os-flavor-access:is_public", true);
  f.description = in.value("description", "");
  f.id = in.contains("id") && in["id"].is_string() ? in["id"].get<std::string>()
                                                   : f.name;
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) {
    InsertFlavor(w, f);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return FaultResponse(
        409, absl::StrCat("Flavor with name ", f.name, " already exists."));
  }
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"flavor", FlavorJson(f, req, true)}});
}

HttpResponse ResourcesApi::ListExtraSpecs(const RequestContext& ctx,
                                          const HttpRequest& req,
                                          const std::string& id) {
  ojson specs = ojson::object();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    std::optional<Flavor> f = GetFlavor(w, id);
    if (!f) return FlavorNotFound(id);
    for (const auto& [k, v] : f->extra_specs) specs[k] = v;
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"extra_specs", specs}});
}

HttpResponse ResourcesApi::SetExtraSpecs(const RequestContext& ctx,
                                         const HttpRequest& req,
                                         const std::string& id) {
  if (absl::Status s = deps_.policy.Enforce(
          "os_compute_api:os-flavor-extra-specs:create", ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  auto body = ParseJsonBody(req.body);
  if (!body.ok()) return FaultFromStatus(body.status());
  if (!body->contains("extra_specs") || !(*body)["extra_specs"].is_object()) {
    return FaultResponse(400,
                         InvalidInput("extra_specs", *body,
                                      "'extra_specs' is a required property"));
  }
  ojson out = ojson::object();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    std::optional<Flavor> f = GetFlavor(w, id);
    if (!f) return FlavorNotFound(id);
    for (auto& [k, v] : (*body)["extra_specs"].items()) {
      if (!v.is_string() && !v.is_number() && !v.is_boolean()) {
        return absl::InvalidArgumentError(
            InvalidInput(k, v, "is not of type 'string'"));
      }
      f->extra_specs[k] = v.is_string() ? v.get<std::string>() : v.dump();
      out[k] = f->extra_specs[k];
    }
    SetFlavorExtraSpecs(w, id, f->extra_specs);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"extra_specs", out}});
}

HttpResponse ResourcesApi::ExtraSpec(const RequestContext& ctx,
                                     const HttpRequest& req,
                                     const std::string& id,
                                     const std::string& key) {
  const std::string& m = req.method;
  const std::string rule =
      m == "GET"   ? "os_compute_api:os-flavor-extra-specs:show"
      : m == "PUT" ? "os_compute_api:os-flavor-extra-specs:update"
                   : "os_compute_api:os-flavor-extra-specs:delete";
  if (absl::Status s = deps_.policy.Enforce(rule, ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  std::string value;
  if (m == "PUT") {
    auto body = ParseJsonBody(req.body);
    if (!body.ok()) return FaultFromStatus(body.status());
    if (body->size() != 1 || !body->contains(key) ||
        !(*body)[key].is_string()) {
      return FaultResponse(400, "Request body and URI mismatch");
    }
    value = (*body)[key].get<std::string>();
  }
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    std::optional<Flavor> f = GetFlavor(w, id);
    if (!f) return FlavorNotFound(id);
    auto it = f->extra_specs.find(key);
    if (m != "PUT" && it == f->extra_specs.end()) {
      return absl::NotFoundError(absl::StrCat(
          "Flavor ", id, " has no extra specs with key ", key, "."));
    }
    if (m == "GET") {
      value = it->second;
      return absl::OkStatus();
    }
    if (m == "PUT") {
      f->extra_specs[key] = value;
    } else {
      f->extra_specs.erase(it);
    }
    SetFlavorExtraSpecs(w, id, f->extra_specs);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  if (m == "DELETE") return HttpResponse{200, {}, ""};
  return JsonResponse(200, ojson{{key, value}});
}

HttpResponse ResourcesApi::ListServices(const RequestContext& ctx,
                                        const HttpRequest& req) {
  if (absl::Status s = deps_.policy.Enforce("os_compute_api:os-services:list",
                                            ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) {
    int n = 0;
    for (const ComputeHost& h : ListComputeHosts(w)) {
      const bool up = IsUp(h, deps_);
      out.push_back({{"id", ++n},
                     {"binary", "shareplane-compute"},
                     {"disabled_reason", nullptr},
                     {"host", h.hostname},
                     {"state", up ? "up" : "down"},
                     {"status", h.disabled ? "disabled" : "enabled"},
                     {"updated_at", h.updated_at.empty() ? ojson(nullptr)
                                                         : ojson(h.updated_at)},
                     {"forced_down", false},
                     {"zone", "nova"}});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"services", out}});
}

HttpResponse ResourcesApi::ListHypervisors(const RequestContext& ctx,
                                           const HttpRequest& req) {
  if (absl::Status s = deps_.policy.Enforce(
          "os_compute_api:os-hypervisors:list-detail", ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) {
    int n = 0;
    for (const ComputeHost& h : ListComputeHosts(w)) {
      const bool up = IsUp(h, deps_);
      ojson traits = ojson::array();
      for (const auto& t : h.traits) traits.push_back(t);
      out.push_back(
          {{"id", ++n},
           {"hypervisor_hostname", h.hostname},
           {"hypervisor_type", h.hypervisor_type},
           {"hypervisor_version", h.hypervisor_version},
           {"host_ip", h.storage_ip},
           {"state", up ? "up" : "down"},
           {"status", h.disabled ? "disabled" : "enabled"},
           {"service", {{"host", h.hostname}, {"disabled_reason", nullptr}}},
           {"vcpus", h.vcpus},
           {"memory_mb", h.memory_mb},
           {"libvirt_version", h.libvirt_version},
           {"traits", traits}});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"hypervisors", out}});
}

namespace {
ojson ActionJson(const InstanceAction& a) {
  return {{"action", a.action},
          {"instance_uuid", a.server_uuid},
          {"message", a.message.empty() ? ojson(nullptr) : ojson(a.message)},
          {"project_id", a.project_id},
          {"request_id", a.request_id},
          {"start_time", a.start_time},
          {"user_id", a.user_id},
          {"updated_at", a.updated_at}};
}
}  // namespace

HttpResponse ResourcesApi::ListActions(const RequestContext& ctx,
                                       const HttpRequest& req,
                                       const std::string& server_id) {
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, false));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce(
        "os_compute_api:os-instance-actions:list", ctx, server.project_id));
    for (const auto& a : ListInstanceActions(w, server.uuid)) {
      out.push_back(ActionJson(a));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"instanceActions", out}});
}

HttpResponse ResourcesApi::ShowAction(const RequestContext& ctx,
                                      const HttpRequest& req,
                                      const std::string& server_id,
                                      const std::string& request_id) {
  ojson out;
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, false));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce(
        "os_compute_api:os-instance-actions:show", ctx, server.project_id));
    std::optional<InstanceAction> a =
        GetInstanceAction(w, server.uuid, request_id);
    if (!a) {
      return absl::NotFoundError(absl::StrCat("Action for request_id ",
                                              request_id, " on instance ",
                                              server.uuid, " not found"));
    }
    out = ActionJson(*a);
    // Events from microversion 2.51 for everyone; details for admins only.
    const bool admin_events = deps_.policy.Allows(
        "os_compute_api:os-instance-actions:events", ctx, server.project_id);
    if (admin_events || ctx.version.AtLeast(2, 51)) {
      ojson events = ojson::array();
      for (const auto& e : a->events) {
        ojson ev = {
            {"event", e.event},
            {"start_time", e.start_time},
            {"finish_time",
             e.finish_time.empty() ? ojson(nullptr) : ojson(e.finish_time)},
            {"result", e.result}};
        if (admin_events) {
          ev["traceback"] =
              e.details.empty() ? ojson(nullptr) : ojson(e.details);
        }
        events.push_back(ev);
      }
      out["events"] = events;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"instanceAction", out}});
}

}  // namespace shareplane
