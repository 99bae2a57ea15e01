#include "common/crash_point.h"

#include <signal.h>

#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "common/log.h"

namespace shareplane {
namespace {

const std::set<std::string>& Armed() {
  static const std::set<std::string>* armed = [] {
    auto* out = new std::set<std::string>;
    if (const char* env = std::getenv("SHAREPLANE_CRASH_AT")) {
      for (absl::string_view name :
           absl::StrSplit(env, ',', absl::SkipWhitespace())) {
        out->emplace(name);
      }
    }
    return out;
  }();
  return *armed;
}

}  // namespace

void CrashPoint(absl::string_view name) {
  if (Armed().empty() || Armed().count(std::string(name)) == 0) return;
  SP_LOG(Warning) << "Crash point " << name << " reached: killing this process";
  raise(SIGKILL);
}

}  // namespace shareplane
