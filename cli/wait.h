// --wait: polling a server's or a share attachment's status until it
// settles, with progress on a terminal.
#ifndef SHAREPLANE_CLI_WAIT_H_
#define SHAREPLANE_CLI_WAIT_H_

#include <functional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/command.h"

namespace shareplane::cli {

// Polls `status` until it is in `done` (success), in `failed`, or the
// wait times out. "" from `status` means the resource is gone.
absl::Status WaitFor(Ctx& c, const std::string& what,
                     const std::function<absl::StatusOr<std::string>()>& status,
                     const std::set<std::string>& done,
                     const std::set<std::string>& failed);

// --wait-timeout in seconds, or the environment's default.
absl::StatusOr<int> ParseWaitTimeout(const Args& args, int default_seconds);

// The status of a server ("" once it is gone).
absl::StatusOr<std::string> ServerStatus(Ctx& c, const std::string& id);

// The status of a share attachment ("" once it is gone).
absl::StatusOr<std::string> ShareStatus(Ctx& c, const std::string& server,
                                        const std::string& share);

}  // namespace shareplane::cli

#endif  // SHAREPLANE_CLI_WAIT_H_
