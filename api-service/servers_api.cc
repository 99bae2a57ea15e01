#include "api-service/servers_api.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api-service/faults.h"
#include "api-service/request_schemas.h"
#include "api-service/server_views.h"
#include "common/core/json_schema.h"
#include "common/core/status.h"

namespace shareplane {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

bool AllTenants(const HttpRequest& req) {
  auto query = ParseQuery(req.query);
  auto it = query.find("all_tenants");
  if (it == query.end()) return false;
  std::string v = absl::AsciiStrToLower(it->second);
  return v.empty() || v == "true" || v == "1" || v == "yes";
}

}  // namespace

absl::StatusOr<CreateServerRequest> ParseCreateServerBody(
    const std::string& body) {
  SP_ASSIGN_OR_RETURN(json parsed,
                      ParseAndValidate(body, CreateServerSchema()));
  const json& in = parsed["server"];
  if (auto n = in.find("networks");
      n != in.end() && n->is_string() && *n != "auto" && *n != "none") {
    return absl::InvalidArgumentError(
        InvalidInput("networks", *n, "must be 'auto', 'none' or a list"));
  }
  const json& ref = in["flavorRef"];
  CreateServerRequest req;
  req.name = in["name"];
  req.flavor_ref = ref.is_string() ? ref.get<std::string>()
                                   : std::to_string(ref.get<int64_t>());
  req.image_ref = in.value("imageRef", "");
  req.availability_zone = in.value("availability_zone", "");
  return req;
}

absl::StatusOr<ServerActionRequest> ParseActionBody(const std::string& id,
                                                    const std::string& body) {
  SP_ASSIGN_OR_RETURN(json parsed,
                      ParseAndValidate(body, ActionEnvelopeSchema()));
  ServerActionRequest req;
  req.server_id = id;
  req.action = parsed.begin().key();
  const json* schema = ActionSchema(req.action);
  if (schema == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("There is no such action: ", req.action));
  }
  SP_RETURN_IF_ERROR(ValidateJson(parsed, *schema));
  if (req.action == "reboot") {
    req.hard = absl::AsciiStrToUpper(
                   parsed.begin().value()["type"].get<std::string>()) == "HARD";
  }
  if (req.action == "rebuild") {
    const json& r = parsed.begin().value();
    req.image_ref = r["imageRef"].get<std::string>();
    req.name = r.value("name", "");
  }
  const json& arg = parsed.begin().value();
  if (req.action == "resize") {
    const json& ref = arg["flavorRef"];
    req.flavor_ref = ref.is_string() ? ref.get<std::string>()
                                     : std::to_string(ref.get<int64_t>());
    // A link to the flavor names it too.
    if (size_t slash = req.flavor_ref.rfind('/'); slash != std::string::npos) {
      req.flavor_ref = req.flavor_ref.substr(slash + 1);
    }
  }
  if ((req.action == "migrate" || req.action == "evacuate") &&
      arg.is_object()) {
    if (auto h = arg.find("host"); h != arg.end() && h->is_string()) {
      req.host = h->get<std::string>();
    }
    req.admin_pass = arg.value("adminPass", "");
    if (auto f = arg.find("force"); f != arg.end()) {
      req.force = f->is_boolean()
                      ? f->get<bool>()
                      : absl::AsciiStrToLower(f->get<std::string>()) == "true";
    }
  }
  return req;
}

ServersApi::ServersApi(const ApiDeps& deps, ServerService& service)
    : deps_(deps), service_(service) {}

HttpResponse ServersApi::List(const RequestContext& ctx, const HttpRequest& req,
                              bool detail) {
  auto records = service_.List(ctx, {detail, AllTenants(req)});
  if (!records.ok()) return FaultFromStatus(records.status());
  ojson servers = ojson::array();
  for (const ServerRecord& r : *records) {
    if (!detail) {
      servers.push_back(
          {{"id", r.server.uuid},
           {"links", ResourceLinks(req, "servers", r.server.uuid)},
           {"name", r.server.name}});
      continue;
    }
    servers.push_back(ServerView(r, ctx, deps_, req, /*detail=*/true));
  }
  return JsonResponse(200, ojson{{"servers", servers}});
}

HttpResponse ServersApi::Show(const RequestContext& ctx, const HttpRequest& req,
                              const std::string& id) {
  auto record = service_.Show(ctx, id);
  if (!record.ok()) return FaultFromStatus(record.status());
  return JsonResponse(
      200, ojson{{"server", ServerView(*record, ctx, deps_, req, false)}});
}

HttpResponse ServersApi::Create(const RequestContext& ctx,
                                const HttpRequest& req) {
  auto parsed = ParseCreateServerBody(req.body);
  if (!parsed.ok()) return FaultFromStatus(parsed.status());
  auto created = service_.Create(ctx, *parsed);
  if (!created.ok()) return FaultFromStatus(created.status());
  const std::string& uuid = created->server.uuid;
  ojson out;
  out["id"] = uuid;
  out["links"] = ResourceLinks(req, "servers", uuid);
  out["OS-DCF:diskConfig"] = "MANUAL";
  out["security_groups"] = ojson::array({{{"name", "default"}}});
  out["adminPass"] = created->admin_pass;
  HttpResponse resp = JsonResponse(202, ojson{{"server", out}});
  resp.SetHeader("Location",
                 absl::StrCat(BaseUrl(req), "/v2.1/servers/", uuid));
  return resp;
}

HttpResponse ServersApi::Delete(const RequestContext& ctx,
                                const HttpRequest& req, const std::string& id) {
  absl::Status s = service_.Delete(ctx, id);
  if (!s.ok()) return FaultFromStatus(s);
  return HttpResponse{204, {}, ""};
}

HttpResponse ServersApi::Action(const RequestContext& ctx,
                                const HttpRequest& req, const std::string& id) {
  auto action = ParseActionBody(id, req.body);
  if (!action.ok()) return FaultFromStatus(action.status());
  if (action->action == "rebuild") {
    // Nova answers a rebuild with the server as GET shows it, and its
    // password.
    auto rebuilt = service_.Rebuild(ctx, *action);
    if (!rebuilt.ok()) return FaultFromStatus(rebuilt.status());
    auto record = service_.Show(ctx, id);
    if (!record.ok()) return FaultFromStatus(record.status());
    ojson out = ServerView(*record, ctx, deps_, req, /*detail=*/true);
    out["adminPass"] = rebuilt->admin_pass;
    return JsonResponse(202, ojson{{"server", out}});
  }
  const std::string& name = action->action;
  if (name == "migrate" && !ctx.version.AtLeast(2, 56)) {
    action->host.clear();  // Nova reads the host from 2.56 on
  }
  if (name == "migrate" || name == "resize") {
    absl::Status s = service_.Migrate(ctx, *action);
    if (!s.ok()) return FaultFromStatus(s);
    return HttpResponse{202, {}, ""};
  }
  if (name == "confirmResize" || name == "revertResize") {
    absl::Status s = service_.EndResize(ctx, *action);
    if (!s.ok()) return FaultFromStatus(s);
    return HttpResponse{name == "confirmResize" ? 204 : 202, {}, ""};
  }
  if (name == "evacuate") {
    auto password = service_.Evacuate(ctx, *action);
    if (!password.ok()) return FaultFromStatus(password.status());
    // Nova answers 200, with the password only before 2.14.
    if (ctx.version.AtLeast(2, 14)) return HttpResponse{200, {}, ""};
    return JsonResponse(200, ojson{{"adminPass", *password}});
  }
  absl::Status s = service_.Act(ctx, *action);
  if (!s.ok()) return FaultFromStatus(s);
  return HttpResponse{202, {}, ""};
}

}  // namespace shareplane
