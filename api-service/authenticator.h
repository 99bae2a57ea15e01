// Who is calling: noauth2 (trusted headers, for tests and the quickstart) or
// keystone (X-Auth-Token validated with Keystone, as keystonemiddleware's
// auth_token does for Nova).
#ifndef SHAREPLANE_API_SERVICE_AUTHENTICATOR_H_
#define SHAREPLANE_API_SERVICE_AUTHENTICATOR_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "api-service/request_context.h"
#include "common/core/config.h"
#include "common/http/http.h"

namespace shareplane {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Fills the caller's identity into `ctx`. Unauthenticated (REST: 401
  // with Keystone's body and WWW-Authenticate) or Unavailable when Keystone
  // cannot be reached for an uncached token (REST: 503), with the message
  // the caller may see.
  virtual absl::Status Authenticate(const Credentials& credentials,
                                    RequestContext& ctx) = 0;
  // The WWW-Authenticate header of a REST 401, "" for none.
  virtual std::string WwwAuthenticate() const { return ""; }
};

// From [api] auth_strategy (noauth2 | keystone) and, for keystone,
// [keystone_authtoken] www_authenticate_uri, auth_url, auth_type,
// username/password/project_name (or application_credential_id/secret),
// token_cache_time (seconds, default 300). InvalidArgument names what is
// missing.
absl::StatusOr<std::unique_ptr<Authenticator>> MakeAuthenticator(
    const Config& config);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_AUTHENTICATOR_H_
