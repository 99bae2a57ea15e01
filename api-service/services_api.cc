// os-services updates (an operator marks a dead host down before
// evacuating it, as `openstack compute service set --down` does) and the
// os-migrations list.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api-service/faults.h"
#include "api-service/resources_api.h"
#include "common/core/json_schema.h"
#include "common/core/status.h"

namespace shareplane {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// Nova's update_v253 body; force-down (2.11..2.52) names the host.
const json& UpdateServiceSchema() {
  static const auto* s = new json{
      {"type", "object"},
      {"properties",
       {{"status", {{"type", "string"}, {"enum", {"enabled", "disabled"}}}},
        {"disabled_reason", {{"type", {"string", "null"}}, {"maxLength", 255}}},
        {"forced_down", {{"type", "boolean"}}},
        {"host", {{"type", "string"}, {"maxLength", 255}}},
        {"binary", {{"type", "string"}, {"maxLength", 255}}}}},
      {"additionalProperties", false}};
  return *s;
}

ojson MigrationView(const ServerMigration& m) {
  return ojson{{"created_at", m.created_at},
               {"dest_compute", m.dest_compute},
               {"dest_host", nullptr},
               {"dest_node", m.dest_compute},
               {"id", m.id},
               {"instance_uuid", m.server_uuid},
               {"new_instance_type_id", m.new_flavor_id},
               {"old_instance_type_id", m.old_flavor_id},
               {"source_compute", m.source_compute},
               {"source_node", m.source_compute},
               {"status", m.status},
               {"updated_at", m.updated_at},
               {"migration_type", m.migration_type},
               {"uuid", m.uuid},
               {"user_id", m.user_id},
               {"project_id", m.project_id}};
}

}  // namespace

ojson ServiceView(const ComputeHost& h, int id, int service_down_time) {
  const bool up = IsHostUp(h, service_down_time);
  return ojson{{"id", id},
               {"binary", "shareplane-compute"},
               {"disabled_reason", nullptr},
               {"host", h.hostname},
               {"state", up ? "up" : "down"},
               {"status", h.disabled ? "disabled" : "enabled"},
               {"updated_at",
                h.updated_at.empty() ? ojson(nullptr) : ojson(h.updated_at)},
               {"forced_down", h.forced_down},
               {"zone", "nova"}};
}

HttpResponse ResourcesApi::UpdateService(const RequestContext& ctx,
                                         const HttpRequest& req,
                                         const std::string& id) {
  if (absl::Status s = deps_.policy.Enforce("os_compute_api:os-services:update",
                                            ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  auto body = ParseAndValidate(req.body, UpdateServiceSchema());
  if (!body.ok()) return FaultFromStatus(body.status());
  const bool by_host = id == "force-down";
  if (by_host && (!body->contains("host") || !body->contains("forced_down"))) {
    return FaultResponse(400, "'host' and 'forced_down' are required.");
  }
  int number = 0;
  if (!by_host && !absl::SimpleAtoi(id, &number)) {
    return FaultResponse(404, absl::StrCat("Service ", id, " not found."));
  }
  ojson out;
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    const std::vector<ComputeHost> hosts = ListComputeHosts(w);
    int n = 0;
    for (const ComputeHost& listed : hosts) {
      ++n;
      if (by_host ? listed.hostname != (*body)["host"].get<std::string>()
                  : n != number) {
        continue;
      }
      if (auto f = body->find("forced_down"); f != body->end()) {
        SetComputeHostForcedDown(w, listed.hostname, f->get<bool>());
      }
      if (auto st = body->find("status"); st != body->end()) {
        SetComputeHostDisabled(w, listed.hostname, *st == "disabled");
      }
      std::optional<ComputeHost> now = GetComputeHost(w, listed.hostname);
      out = ServiceView(*now, n, deps_.service_down_time);
      return absl::OkStatus();
    }
    return absl::NotFoundError(absl::StrCat(
        by_host ? "Compute host " : "Service ",
        by_host ? (*body)["host"].get<std::string>() : id, " not found."));
  });
  if (!s.ok()) return FaultFromStatus(s);
  if (by_host) {
    return JsonResponse(200, ojson{{"service",
                                    {{"host", out["host"]},
                                     {"binary", out["binary"]},
                                     {"forced_down", out["forced_down"]}}}});
  }
  return JsonResponse(200, ojson{{"service", out}});
}

HttpResponse ResourcesApi::ListMigrations(const RequestContext& ctx,
                                          const HttpRequest& req) {
  if (absl::Status s = deps_.policy.Enforce(
          "os_compute_api:os-migrations:index", ctx, ctx.project_id);
      !s.ok()) {
    return FaultFromStatus(s);
  }
  auto query = ParseQuery(req.query);
  std::string server;
  if (auto it = query.find("instance_uuid"); it != query.end()) {
    server = it->second;
  }
  ojson out = ojson::array();
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) {
    for (const ServerMigration& m :
         shareplane::ListMigrations(w, server, 1000)) {
      out.push_back(MigrationView(m));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, ojson{{"migrations", out}});
}

}  // namespace shareplane
