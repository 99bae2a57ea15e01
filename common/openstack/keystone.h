// Keystone v3 client for a service's own identity: authenticates with a
// password or an application credential (POST /v3/auth/tokens), caches the
// token until shortly before it expires, and finds endpoints in the catalog
// that came with it. Thread-safe.
#ifndef SHAREPLANE_COMMON_OPENSTACK_KEYSTONE_H_
#define SHAREPLANE_COMMON_OPENSTACK_KEYSTONE_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/core/clock.h"
#include "common/core/mutex.h"

namespace shareplane {

struct KeystoneOptions {
  std::string auth_url;  // e.g. http://keystone:5000/v3 (or without /v3)
  // "password" or "v3applicationcredential".
  std::string auth_type = "password";
  std::string username;
  std::string password;
  std::string user_domain_name = "Default";
  std::string project_name;
  std::string project_domain_name = "Default";
  std::string application_credential_id;
  std::string application_credential_secret;
  // Catalog selection.
  std::string region_name;
  std::string interface = "public";
  Duration timeout = std::chrono::seconds(30);
  // A token is renewed this long before its expires_at.
  Duration expiry_margin = std::chrono::seconds(60);
  // If set, receives each exchange with Keystone (for a CLI's --debug), the
  // password, secret and tokens masked.
  std::function<void(const std::string&)> debug;
};

// Hex SHA-256 of a token: how logs and --debug output name tokens.
std::string TokenDigest(const std::string& token);

// URL of Keystone's /v3/auth/tokens under `auth_url` (with or without /v3).
std::string KeystoneTokensUrl(std::string auth_url);
// Keystone's time stamps ("2026-11-26T15:00:00.000000Z", UTC); nullopt if
// unparsable.
std::optional<std::chrono::system_clock::time_point> ParseKeystoneTime(
    const std::string& s);

class KeystoneSession {
 public:
  KeystoneSession(KeystoneOptions options, Clock& clock);

  // A valid token, from the cache or freshly issued. Codes: Unauthenticated
  // (credentials refused), Unavailable (Keystone unreachable or 5xx),
  // InvalidArgument (incomplete options).
  absl::StatusOr<std::string> Token() ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets `token` after a service refused it (401): the next Token()
  // authenticates again. A newer token is kept.
  void Invalidate(const std::string& token) ABSL_LOCKS_EXCLUDED(mu_);
  // URL of the first catalog service whose type is in `service_types`, for
  // the configured interface and region. Authenticates if needed.
  absl::StatusOr<std::string> Endpoint(
      const std::vector<std::string>& service_types) ABSL_LOCKS_EXCLUDED(mu_);
  // Times Keystone issued a token to this session (for tests and metrics).
  int issued() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Asks Keystone for a token with the lock held: concurrent callers wait
  // for this one's token instead of each asking.
  absl::Status AuthenticateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const KeystoneOptions options_;
  Clock& clock_;
  mutable Mutex mu_;
  std::string token_ ABSL_GUARDED_BY(mu_);
  TimePoint renew_at_ ABSL_GUARDED_BY(mu_) = TimePoint();
  std::string catalog_json_ ABSL_GUARDED_BY(mu_);
  int issued_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_OPENSTACK_KEYSTONE_H_
