// Test points: named steps of a workflow where a test may crash or pause
// the process, to reproduce a power cut or a race at an exact step.
//
//   SHAREPLANE_CRASH_AT=<name>[,<name>...]
//       the process kills itself with SIGKILL the first time it reaches a
//       point of that name, as an operator's `kill -9` would there.
//   SHAREPLANE_PAUSE_AT=<name>[,...] and SHAREPLANE_PAUSE_DIR=<dir>
//       the first time the process reaches the point it creates
//       <dir>/<name>.reached and waits until <dir>/<name>.go exists (at
//       most 5 minutes), so a test can run a racing request in between.
//
// Without the variables every point is inert (one load of a flag set at
// start). Built with -DSHAREPLANE_TEST_POINTS=OFF they compile to nothing.
#ifndef SHAREPLANE_COMMON_CORE_TEST_POINT_H_
#define SHAREPLANE_COMMON_CORE_TEST_POINT_H_

#include "absl/strings/string_view.h"

namespace shareplane {

#ifdef SHAREPLANE_NO_TEST_POINTS
inline void TestPoint(absl::string_view) {}
#else
void TestPoint(absl::string_view name);
#endif

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_TEST_POINT_H_
