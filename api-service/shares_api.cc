#include "api-service/shares_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "api-service/faults.h"
#include "api-service/request_schemas.h"
#include "common/core/json_schema.h"

namespace shareplane {
namespace {

using ojson = nlohmann::ordered_json;

// Fields in the order of Nova's samples.
ojson MappingJson(const ShareMapping& m, const RequestContext& ctx,
                  bool detailed) {
  ojson j;
  if (detailed && ctx.is_admin) j["uuid"] = m.uuid;
  j["share_id"] = m.share_id;
  j["status"] = m.status;
  if (detailed && ctx.is_admin) j["export_location"] = m.export_location;
  j["tag"] = m.tag;
  // Only read-only attachments say so: Nova's bodies stay as they are.
  if (m.access_level == "ro") j["access_level"] = "ro";
  return j;
}

}  // namespace

bool IsValidTag(const std::string& tag) {
  if (tag.empty() || tag.size() > 36) return false;
  for (char c : tag) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<AttachShareRequest> ParseAttachBody(const std::string& body) {
  auto j = ParseAndValidate(body, AttachShareSchema());
  if (!j.ok()) return j.status();
  const nlohmann::json& share = (*j)["share"];
  AttachShareRequest req;
  req.share_id = absl::AsciiStrToLower(share["share_id"].get<std::string>());
  req.tag = share.value("tag", req.share_id);
  req.access_level = share.value("access_level", "rw");
  return req;
}

SharesApi::SharesApi(ShareService& service) : service_(service) {}

HttpResponse SharesApi::List(const RequestContext& ctx, const HttpRequest& req,
                             const std::string& server_id) {
  if (auto s = NoQuery(req); !s.ok()) return FaultFromStatus(s);
  auto mappings = service_.List(ctx, server_id);
  if (!mappings.ok()) return FaultFromStatus(mappings.status());
  ojson shares = ojson::array();
  for (const ShareMapping& m : *mappings) {
    shares.push_back(MappingJson(m, ctx, false));
  }
  return JsonResponse(200, ojson{{"shares", shares}});
}

HttpResponse SharesApi::Show(const RequestContext& ctx, const HttpRequest& req,
                             const std::string& server_id,
                             const std::string& share_id) {
  if (auto s = NoQuery(req); !s.ok()) return FaultFromStatus(s);
  auto m = service_.Show(ctx, server_id, share_id);
  if (!m.ok()) return FaultFromStatus(m.status());
  return JsonResponse(200, ojson{{"share", MappingJson(*m, ctx, true)}});
}

HttpResponse SharesApi::Attach(const RequestContext& ctx,
                               const HttpRequest& req,
                               const std::string& server_id) {
  // The whole body against the schema (unknown fields, types); the
  // service validates the fields it takes again, for every front.
  auto parsed = ParseAttachBody(req.body);
  if (!parsed.ok()) return FaultFromStatus(parsed.status());
  parsed->server_id = server_id;
  auto m = service_.Attach(ctx, *parsed);
  if (!m.ok()) return FaultFromStatus(m.status());
  return JsonResponse(201, ojson{{"share", MappingJson(*m, ctx, true)}});
}

HttpResponse SharesApi::Detach(const RequestContext& ctx,
                               const HttpRequest& req,
                               const std::string& server_id,
                               const std::string& share_id) {
  if (auto s = NoQuery(req); !s.ok()) return FaultFromStatus(s);
  absl::Status s = service_.Detach(ctx, server_id, share_id);
  if (!s.ok()) return FaultFromStatus(s);
  return HttpResponse{200, {}, ""};
}

}  // namespace shareplane
