#include "common/core/test_point.h"

#ifndef SHAREPLANE_NO_TEST_POINTS

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_split.h"
#include "common/core/log.h"
#include "common/core/mutex.h"

namespace shareplane {
namespace {

struct Armed {
  // Read from the environment once, in Get()'s initializer, and never
  // changed after: read without the lock.
  std::set<std::string> crash;
  std::set<std::string> pause;
  std::string pause_dir;
  Mutex mu;
  // Points already paused at once.
  std::set<std::string> paused ABSL_GUARDED_BY(mu);
  bool any() const { return !crash.empty() || !pause.empty(); }
};

std::set<std::string> Names(const char* env) {
  std::set<std::string> out;
  if (env == nullptr) return out;
  for (absl::string_view name :
       absl::StrSplit(env, ',', absl::SkipWhitespace())) {
    out.emplace(name);
  }
  return out;
}

Armed& Get() {
  static Armed* armed = [] {
    auto* a = new Armed;
    a->crash = Names(std::getenv("SHAREPLANE_CRASH_AT"));
    if (const char* dir = std::getenv("SHAREPLANE_PAUSE_DIR")) {
      a->pause = Names(std::getenv("SHAREPLANE_PAUSE_AT"));
      a->pause_dir = dir;
    }
    return a;
  }();
  return *armed;
}

void Pause(Armed& a, const std::string& name) {
  {
    MutexLock lock(&a.mu);
    if (!a.paused.insert(name).second) return;
  }
  namespace fs = std::filesystem;
  const fs::path dir(a.pause_dir);
  std::ofstream(dir / (name + ".reached")) << "reached\n";
  SP_LOG(Warning) << "Test point " << name << " reached: paused until "
                  << (dir / (name + ".go")).string() << " exists";
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::minutes(5);
  std::error_code ec;
  while (!fs::exists(dir / (name + ".go"), ec) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  SP_LOG(Warning) << "Test point " << name << ": going on";
}

}  // namespace

void TestPoint(absl::string_view name) {
  Armed& a = Get();
  if (!a.any()) return;
  const std::string n(name);
  if (a.crash.count(n)) {
    SP_LOG(Warning) << "Crash point " << name
                    << " reached: killing this process";
    raise(SIGKILL);
  }
  if (a.pause.count(n)) Pause(a, n);
}

}  // namespace shareplane

#endif  // SHAREPLANE_NO_TEST_POINTS
