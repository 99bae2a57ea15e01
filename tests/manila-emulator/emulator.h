// An emulator of the Manila v2 subset Shareplane calls (see
// shared/spec/MANILA.md): shares, export locations, access rules applied
// asynchronously, access-level updates (2.88), resource locks and their side
// effects. State is in memory, optionally persisted to a JSON file.
// Thread-safe.
#ifndef SHAREPLANE_TESTS_MANILA_EMULATOR_EMULATOR_H_
#define SHAREPLANE_TESTS_MANILA_EMULATOR_EMULATOR_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/core/clock.h"
#include "common/http/http.h"

namespace shareplane {

struct ManilaEmulatorOptions {
  // Time a rule spends in queued_to_apply + applying (and denying).
  Duration apply_delay = std::chrono::milliseconds(50);
  // Host part of NFS export locations.
  std::string nfs_export_host = "127.0.0.1";
  // When set, each NFS share is backed by the directory
  // <export_root>/share-<id> (created with the share) and exported as
  // <nfs_export_host>:<that directory>, so tests can mount what it exports.
  std::string export_root;
  // Monitors in CephFS export locations (<mons>:/volumes/_nogroup/<id>).
  std::string cephfs_mons = "127.0.0.1:6789";
  // When set, the state is loaded from and saved to this JSON file, so it
  // survives restarts.
  std::string state_file;
  // Keystone v3 URL: tokens are validated there (user ids, project ids and
  // roles as Keystone says) instead of the noauth "user:project" form.
  std::string keystone_url;
  // The highest microversion served is 2.<max_microversion_minor>: version
  // discovery reports it and requests above it get 406. Lower it to play an
  // older Manila (below 88: no access-level update; below 82: no access
  // locks; below 81: no /resource-locks).
  int max_microversion_minor = 88;
};

// NN of a microversion "2.NN"; nullopt when `version` is not of that form.
std::optional<int> ParseManilaMicroversion(absl::string_view version);

class ManilaEmulator {
 public:
  explicit ManilaEmulator(ManilaEmulatorOptions options);
  ~ManilaEmulator();

  // Serves one request (the HttpServer handler).
  HttpResponse Handle(const HttpRequest& request);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_TESTS_MANILA_EMULATOR_EMULATOR_H_
