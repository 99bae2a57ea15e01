// Who is calling and at which microversion, for one compute API request.
#ifndef SHAREPLANE_API_SERVICE_REQUEST_CONTEXT_H_
#define SHAREPLANE_API_SERVICE_REQUEST_CONTEXT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http.h"

namespace shareplane {

struct ApiVersion {
  int major = 2;
  int minor = 1;
  bool AtLeast(int maj, int min) const {
    return major > maj || (major == maj && minor >= min);
  }
};

inline constexpr ApiVersion kMinApiVersion{2, 1};
inline constexpr ApiVersion kMaxApiVersion{2, 97};

struct RequestContext {
  std::string request_id;         // ours, req-<uuid>
  std::string global_request_id;  // the caller's X-Openstack-Request-Id
  std::string user_id;
  std::string project_id;
  std::vector<std::string> roles;
  bool is_admin = false;
  // From Keystone (empty under noauth).
  std::string user_name;
  std::string project_name;
  std::string user_domain_id;
  std::string project_domain_id;
  std::vector<std::string> service_roles;  // of a valid X-Service-Token
  std::string auth_token;                  // forwarded to Manila; never logged
  std::string service_token;  // the caller's X-Service-Token; never logged
  ApiVersion version;

  bool HasRole(const std::string& role) const;
  // The id logs, tasks and notifications carry: global if given, else ours.
  const std::string& log_request_id() const {
    return global_request_id.empty() ? request_id : global_request_id;
  }
};

// A new request's context: our request id, and the caller's
// X-Openstack-Request-Id as the global one when it is well formed (the one
// rule for every front: REST, gRPC, metadata).
RequestContext NewRequestContext(const std::string& global_request_id);

// What a caller presents, from HTTP headers or gRPC metadata of the same
// names (lower case).
struct Credentials {
  std::string auth_token;     // X-Auth-Token
  std::string service_token;  // X-Service-Token
  // noauth2 only: X-Auth-User, X-Auth-Project-Id, X-Roles.
  std::string user;
  std::string project_id;
  std::optional<std::string> roles;
};
Credentials CredentialsFrom(const HttpRequest& request);

// Reads OpenStack-API-Version ("compute X.Y" or "compute latest") or the
// legacy X-OpenStack-Nova-API-Version. No header means 2.1.
// InvalidArgument: malformed (400). OutOfRange: outside min..max (406).
absl::StatusOr<ApiVersion> ParseApiVersion(const HttpRequest& request);

// noauth: trusts X-Auth-User, X-Auth-Project-Id and X-Roles (comma
// separated; default "reader,member"), or an X-Auth-Token "user:project"
// (project defaults to the user). Admin when the roles contain "admin" or the
// user is "admin". Unauthenticated when neither user nor token is given.
absl::Status AuthenticateNoauth(const Credentials& credentials,
                                RequestContext& context);
absl::Status AuthenticateNoauth(const HttpRequest& request,
                                RequestContext& context);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_REQUEST_CONTEXT_H_
