// Validation of the tokens callers present, as keystonemiddleware's
// auth_token does: GET /v3/auth/tokens with the caller's token as
// X-Subject-Token and the service's own token as X-Auth-Token, results
// (valid and invalid) cached for a bounded time and never past the token's
// expiry. Thread-safe.
#ifndef SHAREPLANE_COMMON_OPENSTACK_KEYSTONE_AUTH_H_
#define SHAREPLANE_COMMON_OPENSTACK_KEYSTONE_AUTH_H_

#include <chrono>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/core/clock.h"
#include "common/core/mutex.h"
#include "common/openstack/keystone.h"

namespace shareplane {

// What Keystone says about a valid token.
struct KeystoneIdentity {
  std::string user_id;
  std::string user_name;
  std::string user_domain_id;
  std::string project_id;  // empty for a domain- or system-scoped token
  std::string project_name;
  std::string project_domain_id;
  std::vector<std::string> roles;  // names, implied roles included
  std::string expires_at;          // as Keystone wrote it
  std::chrono::system_clock::time_point expires{};
};

struct TokenValidatorOptions {
  // The service's own identity ([keystone_authtoken] auth_url, auth_type,
  // username, ...): validation requests carry its token.
  KeystoneOptions service;
  // How long a result (valid or invalid) is reused ([keystone_authtoken]
  // token_cache_time); zero disables the cache.
  Duration cache_time = std::chrono::seconds(300);
  size_t max_cache_entries = 10000;
};

class TokenValidator {
 public:
  TokenValidator(TokenValidatorOptions options, Clock& clock);

  // Codes: Unauthenticated (unknown, expired, revoked or malformed token),
  // Unavailable (Keystone unreachable, 5xx, or it refused the service's own
  // credentials).
  // Each answer from Keystone counts in shareplane_keystone_validations_total
  // (result: valid, invalid, unavailable).
  absl::StatusOr<KeystoneIdentity> Validate(const std::string& token)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    bool valid = false;
    KeystoneIdentity identity;
    TimePoint until{};
    std::list<std::string>::iterator age;
  };
  // Asks Keystone (Ask) and counts the answer; without the lock, so
  // validations of different tokens do not wait for each other.
  absl::StatusOr<KeystoneIdentity> Fetch(const std::string& token)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<KeystoneIdentity> Ask(const std::string& token)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Remember(const std::string& key, bool valid,
                const KeystoneIdentity& identity) ABSL_LOCKS_EXCLUDED(mu_);

  const TokenValidatorOptions options_;
  Clock& clock_;
  KeystoneSession session_;  // thread-safe by itself
  mutable Mutex mu_;
  // Keyed by the SHA-256 of the token, so the cache never holds tokens.
  std::unordered_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> ages_ ABSL_GUARDED_BY(mu_);  // oldest first
};

// The identity a validated token describes, parsed from Keystone's
// {"token": {...}} body. InvalidArgument when the body is not a token.
absl::StatusOr<KeystoneIdentity> ParseKeystoneToken(const std::string& body);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_OPENSTACK_KEYSTONE_AUTH_H_
