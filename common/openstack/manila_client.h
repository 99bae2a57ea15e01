// Client for the Manila (Shared File Systems v2) subset Shareplane calls,
// at microversion 2.82 (the access-level update alone at 2.88). Works
// against real Manila and the bundled emulator. Thread-safe; every call
// blocks for one HTTP exchange.
#ifndef SHAREPLANE_COMMON_OPENSTACK_MANILA_CLIENT_H_
#define SHAREPLANE_COMMON_OPENSTACK_MANILA_CLIENT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/core/clock.h"
#include "common/core/mutex.h"

namespace shareplane {

struct ManilaShare {
  std::string id;
  std::string name;
  std::string status;
  std::string share_proto;
  std::string project_id;
};

struct ManilaExportLocation {
  std::string id;
  std::string path;
  bool preferred = false;
};

struct ManilaAccessRule {
  std::string id;
  std::string access_type;
  std::string access_to;
  std::string access_level;
  std::string state;
  std::string access_key;
};

// A Manila resource lock (2.81+).
struct ManilaResourceLock {
  std::string id;
  std::string resource_type;  // share | access_rule
  std::string resource_id;
  std::string resource_action;  // delete | show
  std::string lock_context;     // user | admin | service
  std::string lock_reason;
};

// Identity sent with a call: `token` as X-Auth-Token and, when set,
// `service_token` as X-Service-Token. With a Keystone session the service
// token comes from it: a call with a user token sends both, one without
// sends the service token alone. `request_id` goes as
// X-OpenStack-Request-ID (Manila records it as the global request id).
struct ManilaAuth {
  std::string token;
  std::string service_token;
  std::string request_id;
};

class KeystoneSession;

struct ManilaOptions {
  // e.g. http://127.0.0.1:8786/v2; empty: from the Keystone catalog
  // (shared-file-system, sharev2 or share).
  std::string endpoint;
  Duration timeout = std::chrono::seconds(30);
  // The service's own identity (not owned); null in noauth deployments.
  KeystoneSession* keystone = nullptr;
};

// The export location used for a share: first preferred, else first.
// NotFound (as FailedPrecondition) when there is none.
absl::StatusOr<std::string> PickExportLocation(
    const std::vector<ManilaExportLocation>& locations);

// Codes: NotFound (share unknown, including Manila's 400 "not found" on
// rule listing), AlreadyExists (400 "Share access ... exists." on a grant),
// PermissionDenied (403), Unauthenticated (401, after one re-authentication
// when a Keystone session is set), InvalidArgument (other 400),
// FailedPrecondition (409, and 406: a microversion this Manila does not
// serve), Unavailable (unreachable or 5xx), DeadlineExceeded (timeout).
class ManilaClient {
 public:
  explicit ManilaClient(ManilaOptions options);

  absl::StatusOr<ManilaShare> GetShare(const std::string& id,
                                       const ManilaAuth& auth);
  absl::StatusOr<std::vector<ManilaExportLocation>> ListExportLocations(
      const std::string& share_id, const ManilaAuth& auth);
  absl::StatusOr<std::vector<ManilaAccessRule>> ListAccessRules(
      const std::string& share_id, const ManilaAuth& auth);
  // Grants access at `access_level` ("rw" or "ro") with visibility and
  // deletion locks; the rule answered is queued_to_apply.
  absl::StatusOr<ManilaAccessRule> AllowAccess(const std::string& share_id,
                                               const std::string& access_type,
                                               const std::string& access_to,
                                               const std::string& lock_reason,
                                               const std::string& access_level,
                                               const ManilaAuth& auth);
  // The same at "rw".
  absl::StatusOr<ManilaAccessRule> AllowAccess(const std::string& share_id,
                                               const std::string& access_type,
                                               const std::string& access_to,
                                               const std::string& lock_reason,
                                               const ManilaAuth& auth) {
    return AllowAccess(share_id, access_type, access_to, lock_reason, "rw",
                       auth);
  }
  // Changes an active rule's level in place ("rw" or "ro"; PUT
  // /share-access-rules/{id} at microversion 2.88): the rule goes back
  // through queued_to_apply to active with the new level, as a grant does;
  // poll the list for it. The rule's locks do not prevent it. NotFound (rule
  // unknown), InvalidArgument (level not rw/ro, or the rule is not active),
  // FailedPrecondition from a Manila older than 2.88 (MaxMicroversionMinor
  // tells beforehand).
  absl::Status UpdateAccessLevel(const std::string& access_id,
                                 const std::string& access_level,
                                 const ManilaAuth& auth);
  // Revokes with unrestrict (removes the locks too). NotFound if gone.
  absl::Status DenyAccess(const std::string& share_id,
                          const std::string& access_id, const ManilaAuth& auth);
  // The locks on one resource (a share or an access rule).
  absl::StatusOr<std::vector<ManilaResourceLock>> ListResourceLocks(
      const std::string& resource_id, const ManilaAuth& auth);
  // NN of the highest microversion "2.NN" Manila serves: the CURRENT
  // version of its version discovery (GET on the endpoint's /v2; no token
  // is sent, only `auth.request_id`). The first successful answer is kept:
  // later calls make no request. Unavailable (unreachable or 5xx), Internal
  // (no CURRENT 2.NN version in the answer).
  absl::StatusOr<int> MaxMicroversionMinor(const ManilaAuth& auth);

 private:
  struct Reply;
  // `microversion` goes as X-OpenStack-Manila-API-Version.
  absl::StatusOr<Reply> Call(const std::string& method, const std::string& path,
                             const std::string& body, const ManilaAuth& auth,
                             absl::string_view microversion = "2.82");
  ManilaOptions options_;
  Mutex mu_;
  std::optional<int> max_minor_ ABSL_GUARDED_BY(mu_);
};

// Retries: the client itself retries nothing. Workflows wrap idempotent
// calls (GETs, deny of a known rule) in the one RetryPolicy
// ([manila] retry_attempts); a grant is never repeated blindly: the rule
// list is read again first, so a grant whose answer was lost is found.

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_OPENSTACK_MANILA_CLIENT_H_
