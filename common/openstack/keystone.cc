#include "common/openstack/keystone.h"

#include <openssl/sha.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/json_body.h"
#include "common/core/log.h"
#include "common/http/http.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

json AuthBody(const KeystoneOptions& o) {
  if (o.auth_type == "v3applicationcredential") {
    return {{"auth",
             {{"identity",
               {{"methods", {"application_credential"}},
                {"application_credential",
                 {{"id", o.application_credential_id},
                  {"secret", o.application_credential_secret}}}}}}}};
  }
  return {{"auth",
           {{"identity",
             {{"methods", {"password"}},
              {"password",
               {{"user",
                 {{"name", o.username},
                  {"domain", {{"name", o.user_domain_name}}},
                  {"password", o.password}}}}}}},
            {"scope",
             {{"project",
               {{"name", o.project_name},
                {"domain", {{"name", o.project_domain_name}}}}}}}}}};
}

}  // namespace

std::string TokenDigest(const std::string& token) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string KeystoneTokensUrl(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!absl::EndsWith(base, "/v3")) base += "/v3";
  return base + "/auth/tokens";
}

std::optional<std::chrono::system_clock::time_point> ParseKeystoneTime(
    const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

KeystoneSession::KeystoneSession(KeystoneOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

absl::Status KeystoneSession::AuthenticateLocked() {
  if (options_.auth_url.empty()) {
    return absl::InvalidArgumentError("Keystone auth_url is not set");
  }
  const bool app_cred = options_.auth_type == "v3applicationcredential";
  if (!app_cred && options_.auth_type != "password") {
    return absl::InvalidArgumentError(
        absl::StrCat("Unsupported auth_type '", options_.auth_type,
                     "' (password or v3applicationcredential)"));
  }
  if (app_cred ? options_.application_credential_id.empty()
               : options_.username.empty() || options_.project_name.empty()) {
    return absl::InvalidArgumentError(
        app_cred ? "application_credential_id is not set"
                 : "username and project_name must be set");
  }
  HttpClientRequest req;
  req.method = "POST";
  req.url = KeystoneTokensUrl(options_.auth_url);
  req.timeout = options_.timeout;
  req.headers = {{"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = AuthBody(options_).dump();
  if (options_.debug) {
    json masked = AuthBody(options_);
    auto& identity = masked["auth"]["identity"];
    if (identity.contains("password")) {
      identity["password"]["user"]["password"] = "***";
    }
    if (identity.contains("application_credential")) {
      identity["application_credential"]["secret"] = "***";
    }
    options_.debug("REQ: curl -g -i -X POST " + req.url +
                   " -H \"Content-Type: application/json\" -d '" +
                   masked.dump() + "'");
  }
  auto resp = HttpFetch(req);
  if (options_.debug && resp.ok()) {
    options_.debug(absl::StrCat("RESP: [", resp->status,
                                "] X-Subject-Token: {SHA256}",
                                TokenDigest(resp->Header("X-Subject-Token")),
                                " (body: ", resp->body.size(), " bytes)"));
  }
  if (!resp.ok()) {
    return absl::UnavailableError(
        absl::StrCat("Keystone: ", resp.status().message()));
  }
  if (resp->status == 401 || resp->status == 403 || resp->status == 404) {
    // The password never appears in the message.
    return absl::UnauthenticatedError(absl::StrCat(
        "Keystone refused the service credentials (HTTP ", resp->status, ")"));
  }
  if (resp->status != 201) {
    return absl::UnavailableError(
        absl::StrCat("Keystone answered ", resp->status, " to POST ", req.url));
  }
  const std::string token = resp->Header("X-Subject-Token");
  json body = ParseJson(resp->body).value_or(json(json::value_t::discarded));
  if (token.empty() || !body.is_object() || !body.contains("token")) {
    return absl::UnavailableError("Keystone's token response is malformed");
  }
  const json& t = body["token"];
  auto expires = ParseKeystoneTime(t.value("expires_at", ""));
  // A token without a readable expiry is kept five minutes.
  const auto lifetime =
      expires ? *expires - std::chrono::system_clock::now()
              : std::chrono::system_clock::duration(std::chrono::minutes(5));
  // Renew ahead of expiry; a token that lives shorter than the margin is
  // used for half its life.
  const Duration margin =
      std::min<Duration>(options_.expiry_margin,
                         std::chrono::duration_cast<Duration>(lifetime) / 2);
  renew_at_ =
      clock_.Now() + std::chrono::duration_cast<Duration>(lifetime) - margin;
  token_ = token;
  catalog_json_ = t.contains("catalog") ? t["catalog"].dump() : "[]";
  ++issued_;
  SP_LOG(Info) << "Keystone issued a service token (expires "
               << t.value("expires_at", "?") << ")";
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeystoneSession::Token() {
  MutexLock lock(&mu_);
  if (token_.empty() || clock_.Now() >= renew_at_) {
    absl::Status s = AuthenticateLocked();
    if (!s.ok()) return s;
  }
  return token_;
}

void KeystoneSession::Invalidate(const std::string& token) {
  MutexLock lock(&mu_);
  if (token == token_) token_.clear();
}

absl::StatusOr<std::string> KeystoneSession::Endpoint(
    const std::vector<std::string>& service_types) {
  auto token = Token();
  if (!token.ok()) return token.status();
  MutexLock lock(&mu_);
  const json catalog =
      ParseJson(catalog_json_).value_or(json(json::value_t::discarded));
  if (!catalog.is_array()) return absl::NotFoundError("no service catalog");
  for (const std::string& type : service_types) {
    for (const json& service : catalog) {
      if (service.value("type", "") != type) continue;
      for (const json& e : service.value("endpoints", json::array())) {
        if (e.value("interface", "") != options_.interface) continue;
        if (!options_.region_name.empty() &&
            e.value("region_id", e.value("region", "")) !=
                options_.region_name) {
          continue;
        }
        return e.value("url", "");
      }
    }
  }
  return absl::NotFoundError(
      absl::StrCat("No ", options_.interface, " endpoint of type ",
                   service_types.empty() ? "?" : service_types.front(),
                   " in the Keystone catalog"));
}

int KeystoneSession::issued() const {
  MutexLock lock(&mu_);
  return issued_;
}

}  // namespace shareplane
