#include "common/openstack/keystone_auth.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/core/json_body.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/http/http.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

std::string Str(const json& j, const char* object, const char* key) {
  auto it = j.find(object);
  if (it == j.end() || !it->is_object()) return "";
  auto v = it->find(key);
  return v != it->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string DomainId(const json& j, const char* object) {
  auto it = j.find(object);
  if (it == j.end() || !it->is_object()) return "";
  return Str(*it, "domain", "id");
}

}  // namespace

absl::StatusOr<KeystoneIdentity> ParseKeystoneToken(const std::string& body) {
  const json doc = ParseJson(body).value_or(json(json::value_t::discarded));
  if (!doc.is_object() || !doc.contains("token") || !doc["token"].is_object()) {
    return absl::InvalidArgumentError("not a Keystone token document");
  }
  const json& t = doc["token"];
  KeystoneIdentity id;
  id.user_id = Str(t, "user", "id");
  id.user_name = Str(t, "user", "name");
  id.user_domain_id = DomainId(t, "user");
  id.project_id = Str(t, "project", "id");
  id.project_name = Str(t, "project", "name");
  id.project_domain_id = DomainId(t, "project");
  if (auto roles = t.find("roles"); roles != t.end() && roles->is_array()) {
    for (const json& r : *roles) {
      if (r.is_object() && r.contains("name") && r["name"].is_string()) {
        id.roles.push_back(r["name"].get<std::string>());
      }
    }
  }
  id.expires_at = t.value("expires_at", "");
  auto expires = ParseKeystoneTime(id.expires_at);
  if (id.user_id.empty() || !expires) {
    return absl::InvalidArgumentError("Keystone token without user or expiry");
  }
  id.expires = *expires;
  return id;
}

TokenValidator::TokenValidator(TokenValidatorOptions options, Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      session_(options_.service, clock) {}

absl::StatusOr<KeystoneIdentity> TokenValidator::Validate(
    const std::string& token) {
  if (token.empty()) {
    return absl::UnauthenticatedError("no token");
  }
  const std::string key = TokenDigest(token);
  {
    MutexLock lock(&mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (clock_.Now() < it->second.until) {
        if (!it->second.valid) {
          return absl::UnauthenticatedError("token is invalid (cached)");
        }
        return it->second.identity;
      }
      ages_.erase(it->second.age);
      cache_.erase(it);
    }
  }
  auto identity = Fetch(token);
  if (identity.ok()) {
    Remember(key, true, *identity);
  } else if (identity.status().code() == absl::StatusCode::kUnauthenticated) {
    Remember(key, false, {});
  }
  return identity;
}

absl::StatusOr<KeystoneIdentity> TokenValidator::Fetch(
    const std::string& token) {
  auto identity = Ask(token);
  Metrics::Global().Increment(
      "shareplane_keystone_validations_total",
      {{"result",
        identity.ok() ? "valid"
        : identity.status().code() == absl::StatusCode::kUnauthenticated
            ? "invalid"
            : "unavailable"}});
  return identity;
}

absl::StatusOr<KeystoneIdentity> TokenValidator::Ask(const std::string& token) {
  // One retry with a fresh service token when Keystone refuses ours.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto service_token = session_.Token();
    if (!service_token.ok()) {
      SP_LOG(Error) << "Cannot validate tokens: " << service_token.status();
      return absl::UnavailableError(absl::StrCat(
          "Keystone is unavailable: ", service_token.status().message()));
    }
    HttpClientRequest req;
    req.url = KeystoneTokensUrl(options_.service.auth_url);
    req.timeout = options_.service.timeout;
    req.headers = {{"X-Auth-Token", *service_token},
                   {"X-Subject-Token", token},
                   {"Accept", "application/json"}};
    auto resp = HttpFetch(req);
    if (!resp.ok()) {
      SP_LOG(Error) << "Keystone token validation failed: " << resp.status();
      return absl::UnavailableError(
          absl::StrCat("Keystone is unavailable: ", resp.status().message()));
    }
    if (resp->status == 200) {
      auto identity = ParseKeystoneToken(resp->body);
      if (!identity.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "Keystone's answer is malformed: ", identity.status().message()));
      }
      if (std::chrono::system_clock::now() >= identity->expires) {
        return absl::UnauthenticatedError("token has expired");
      }
      return identity;
    }
    if (resp->status == 404 || resp->status == 400) {
      return absl::UnauthenticatedError("token is invalid");
    }
    if (resp->status == 401 && attempt == 0) {
      session_.Invalidate(*service_token);
      continue;
    }
    SP_LOG(Error) << "Keystone answered " << resp->status
                  << " to a token validation"
                  << (resp->status == 401 || resp->status == 403
                          ? " (check [keystone_authtoken] credentials and "
                            "the service user's roles)"
                          : "");
    return absl::UnavailableError(
        absl::StrCat("Keystone answered ", resp->status));
  }
  return absl::UnavailableError("Keystone refused the service token");
}

void TokenValidator::Remember(const std::string& key, bool valid,
                              const KeystoneIdentity& identity) {
  if (options_.cache_time <= Duration::zero()) return;
  MutexLock lock(&mu_);
  auto [it, inserted] = cache_.try_emplace(key);
  if (!inserted) ages_.erase(it->second.age);
  it->second.valid = valid;
  it->second.identity = identity;
  // Never past the token's own expiry: what is left of its life, measured
  // now in wall time, bounds the entry on the service's clock.
  Duration life = options_.cache_time;
  if (valid) {
    life = std::min(life,
                    std::chrono::duration_cast<Duration>(
                        identity.expires - std::chrono::system_clock::now()));
  }
  it->second.until = clock_.Now() + life;
  ages_.push_back(key);
  it->second.age = std::prev(ages_.end());
  while (cache_.size() > options_.max_cache_entries) {
    cache_.erase(ages_.front());
    ages_.pop_front();
  }
}

}  // namespace shareplane
