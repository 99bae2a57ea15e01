#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "tests/manila-emulator/model.h"

namespace shareplane::manila_emulator {

using json = nlohmann::json;

namespace {

// Keystone's view of a token: GET /v3/auth/tokens, the token validating
// itself (Keystone lets a token's subject do that). nullopt when invalid.
std::optional<json> ValidateToken(const std::string& keystone_url,
                                  const std::string& token) {
  if (token.empty()) return std::nullopt;
  HttpClientRequest v;
  v.url = keystone_url + "/auth/tokens";
  v.headers = {{"X-Auth-Token", token},
               {"X-Subject-Token", token},
               {"Accept", "application/json"}};
  v.timeout = std::chrono::seconds(10);
  auto resp = HttpFetch(v);
  if (!resp.ok() || resp->status != 200) return std::nullopt;
  json body = json::parse(resp->body, nullptr, false);
  if (!body.is_object() || !body.contains("token")) return std::nullopt;
  return body["token"];
}

bool HasRole(const json& token, const std::string& role) {
  for (const json& r : token.value("roles", json::array())) {
    if (r.value("name", "") == role) return true;
  }
  return false;
}

}  // namespace

std::optional<Caller> AuthenticateCaller(const HttpRequest& req,
                                         const std::string& keystone) {
  const std::string token = req.Header("X-Auth-Token");
  if (token.empty()) return std::nullopt;
  if (keystone.empty()) {
    // noauth: the token is "user:project"; "admin" users are administrators.
    std::vector<std::string> up = absl::StrSplit(token, ':');
    Caller c{up[0], up.size() > 1 ? up[1] : up[0], up[0] == "admin"};
    c.service = req.HasHeader("X-Service-Token");
    return c;
  }
  // keystone: both tokens are validated, as keystonemiddleware does; the
  // service token counts when it carries the service role.
  auto user = ValidateToken(keystone, token);
  if (!user) return std::nullopt;
  Caller c;
  c.user = (*user)["user"].value("id", "");
  c.project =
      user->contains("project") ? (*user)["project"].value("id", "") : "";
  c.admin = HasRole(*user, "admin");
  if (req.HasHeader("X-Service-Token")) {
    auto service = ValidateToken(keystone, req.Header("X-Service-Token"));
    if (!service) return std::nullopt;
    c.service = HasRole(*service, "service");
  } else {
    c.service = HasRole(*user, "service");
  }
  return c;
}

}  // namespace shareplane::manila_emulator
