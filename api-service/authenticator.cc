#include "api-service/authenticator.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "api-service/faults.h"
#include "common/core/log.h"
#include "common/openstack/keystone_auth.h"
#include "common/openstack/openstack_settings.h"

namespace shareplane {
namespace {

const char kUnauthorized[] =
    "The request you have made requires authentication.";

class NoauthAuthenticator : public Authenticator {
 public:
  absl::Status Authenticate(const Credentials& credentials,
                            RequestContext& ctx) override {
    return AuthenticateNoauth(credentials, ctx);
  }
};

class KeystoneAuthenticator : public Authenticator {
 public:
  KeystoneAuthenticator(TokenValidatorOptions options,
                        std::string www_authenticate_uri)
      : validator_(std::move(options), *RealClock::Get()),
        www_authenticate_(
            absl::StrCat("Keystone uri=\"", www_authenticate_uri, "\"")) {}

  absl::Status Authenticate(const Credentials& credentials,
                            RequestContext& ctx) override {
    const std::string& token = credentials.auth_token;
    if (token.empty()) return absl::UnauthenticatedError(kUnauthorized);
    auto user = validator_.Validate(token);
    if (!user.ok()) return Refusal(user.status());
    ctx.user_id = user->user_id;
    ctx.user_name = user->user_name;
    ctx.user_domain_id = user->user_domain_id;
    ctx.project_id = user->project_id;
    ctx.project_name = user->project_name;
    ctx.project_domain_id = user->project_domain_id;
    ctx.roles = user->roles;
    ctx.is_admin = ctx.HasRole("admin");
    ctx.auth_token = token;
    // An accompanying service token must be valid too; its roles are kept
    // apart from the user's.
    const std::string& service = credentials.service_token;
    if (!service.empty()) {
      auto identity = validator_.Validate(service);
      if (!identity.ok()) return Refusal(identity.status());
      ctx.service_roles = identity->roles;
      ctx.service_token = service;
    }
    return absl::OkStatus();
  }

  std::string WwwAuthenticate() const override { return www_authenticate_; }

 private:
  static absl::Status Refusal(const absl::Status& s) {
    if (s.code() == absl::StatusCode::kUnauthenticated) {
      SP_LOG(Info) << "Rejecting request: " << s.message();
      return absl::UnauthenticatedError(kUnauthorized);
    }
    return absl::UnavailableError(kServiceUnavailableMessage);
  }

  TokenValidator validator_;
  const std::string www_authenticate_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Authenticator>> MakeAuthenticator(
    const Config& config) {
  const std::string strategy =
      config.GetString("api", "auth_strategy", "keystone");
  if (strategy == "noauth" || strategy == "noauth2") {
    SP_LOG(Warning) << "[api] auth_strategy = " << strategy
                    << ": callers' identity headers are trusted (tests only)";
    return std::unique_ptr<Authenticator>(new NoauthAuthenticator());
  }
  if (strategy != "keystone") {
    return absl::InvalidArgumentError(
        absl::StrCat("[api] auth_strategy = ", strategy,
                     " is not one of keystone, noauth2"));
  }
  const std::string section = "keystone_authtoken";
  auto service = KeystoneOptionsFrom(config, section);
  if (!service) {
    return absl::InvalidArgumentError(
        "[api] auth_strategy = keystone needs [keystone_authtoken] auth_type "
        "(password or v3applicationcredential) with the service's "
        "credentials");
  }
  if (service->auth_url.empty()) {
    return absl::InvalidArgumentError(
        "[keystone_authtoken] auth_url is not set");
  }
  TokenValidatorOptions options;
  options.service = *service;
  options.cache_time =
      std::chrono::seconds(config.GetInt(section, "token_cache_time", 300));
  options.service.timeout =
      std::chrono::seconds(config.GetInt(section, "http_connect_timeout", 10));
  std::string uri = config.GetString(
      section, "www_authenticate_uri",
      config.GetString(section, "auth_uri", service->auth_url));
  SP_LOG(Info) << "Authenticating callers with Keystone at "
               << service->auth_url;
  return std::unique_ptr<Authenticator>(
      new KeystoneAuthenticator(std::move(options), std::move(uri)));
}

}  // namespace shareplane
