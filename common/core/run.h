// Runs a command from its argv, never through a shell.
#ifndef SHAREPLANE_COMMON_CORE_RUN_H_
#define SHAREPLANE_COMMON_CORE_RUN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace shareplane {

// Runs argv (argv[0] found on PATH, no shell) with a deadline, returning
// its stderr on failure. posix_spawn rather than fork: nothing of the
// caller (threads, locks) runs in the child; the child starts with no blocked
// signals and default handlers, and only stdin, stdout and the stderr pipe open
// (every other descriptor of the caller is close-on-exec or closed here).
// DeadlineExceeded when it did not finish within `timeout_seconds` (it is
// killed), Internal with its exit code and stderr when it failed.
absl::Status RunCommand(const std::vector<std::string>& argv,
                        int timeout_seconds);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_RUN_H_
