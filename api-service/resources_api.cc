#include "api-service/resources_api.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api-service/faults.h"
#include "api-service/request_schemas.h"
#include "api-service/server_views.h"
#include "common/core/json_body.h"
#include "common/core/json_schema.h"
#include "common/core/status.h"

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

// A validated integer-or-digits field (request_schemas.h bounds it).
int IntField(const json& in, const char* key, int fallback) {
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return fallback;
  if (it->is_number()) return static_cast<int>(it->get<double>());
  const std::string& s = it->get_ref<const std::string&>();
  return s.empty() ? fallback : std::stoi(s);
}

// Nova's strutils.bool_from_string over the schema's enum.
bool BoolField(const json& in, const char* key, bool fallback) {
  auto it = in.find(key);
  if (it == in.end()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  const std::string v = absl::AsciiStrToLower(it->get<std::string>());
  return v == "true" || v == "1" || v == "on" || v == "yes";
}

std::string SpecValue(const json& v) {
  return v.is_string() ? v.get<std::string>() : DumpJson(v);
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
  auto body = ParseAndValidate(req.body, CreateFlavorSchema());
  if (!body.ok()) return FaultFromStatus(body.status());
  const json& in = (*body)["flavor"];
  Flavor f;
  f.name = in["name"].get<std::string>();
  f.ram_mb = IntField(in, "ram", 0);
  f.vcpus = IntField(in, "vcpus", 0);
  f.disk_gb = IntField(in, "disk", 0);
  f.ephemeral_gb = IntField(in, "OS-FLV-EXT-DATA:ephemeral", 0);
  f.swap_mb = IntField(in, "swap", 0);
  f.is_public = BoolField(in, "os-flavor-access:is_public", true);
  if (auto d = in.find("description"); d != in.end() && d->is_string()) {
    f.description = d->get<std::string>();
  }
  auto id = in.find("id");
  f.id = id != in.end() && id->is_string() ? id->get<std::string>() : f.name;
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
  auto body = ParseAndValidate(req.body, SetExtraSpecsSchema());
  if (!body.ok()) return FaultFromStatus(body.status());
  ojson out = ojson::object();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    LockFlavor(w, id);
    std::optional<Flavor> f = GetFlavor(w, id);
    if (!f) return FlavorNotFound(id);
    for (auto& [k, v] : (*body)["extra_specs"].items()) {
      f->extra_specs[k] = SpecValue(v);
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
    auto body = ParseAndValidate(req.body, UpdateExtraSpecSchema());
    if (!body.ok()) return FaultFromStatus(body.status());
    if (!body->contains(key)) {
      return FaultResponse(400, "Request body and URI mismatch");
    }
    value = SpecValue((*body)[key]);
  }
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (m != "GET") LockFlavor(w, id);
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
  // Nova's filters (`openstack compute service set` finds its service so).
  const auto query = ParseQuery(req.query);
  auto filter = [&](const char* key) {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  };
  const std::string host = filter("host"), binary = filter("binary");
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) {
    int n = 0;
    for (const ComputeHost& h : ListComputeHosts(w)) {
      ojson view = ServiceView(h, ++n, deps_.service_down_time);
      if ((!host.empty() && h.hostname != host) ||
          (!binary.empty() && view["binary"] != binary)) {
        continue;
      }
      out.push_back(std::move(view));
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
      const bool up = IsHostUp(h, deps_.service_down_time);
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

HttpResponse ResourcesApi::ListActions(const RequestContext& ctx,
                                       const HttpRequest& req,
                                       const std::string& server_id) {
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, false));
    SP_RETURN_IF_ERROR(deps_.policy.Enforce(
        "os_compute_api:os-instance-actions:list", ctx, server.project_id));
    for (const auto& a : ListInstanceActions(w, server.uuid)) {
      out.push_back(ActionView(a, ctx, deps_, server.project_id, false));
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
    out = ActionView(*a, ctx, deps_, server.project_id, true);
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"instanceAction", out}});
}

}  // namespace shareplane
