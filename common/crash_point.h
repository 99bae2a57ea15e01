// Crash points for crash-safety tests: a process started with
// SHAREPLANE_CRASH_AT=<name>[,<name>...] kills itself with SIGKILL the first
// time it reaches a CrashPoint of that name, exactly as an operator's
// `kill -9` or a power cut would at that step. Without the variable every
// crash point is a no-op costing one comparison.
#ifndef SHAREPLANE_COMMON_CRASH_POINT_H_
#define SHAREPLANE_COMMON_CRASH_POINT_H_

#include "absl/strings/string_view.h"

namespace shareplane {

void CrashPoint(absl::string_view name);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CRASH_POINT_H_
