// What a failed assertion prints besides its own message: the tail of each
// live Stack's daemon logs as they are at the failure. A Catch2 listener
// (tests/support/failure_logs.cc, compiled into unit_tests and
// integration_tests) prints them; each Stack registers itself here from its
// constructor and leaves from its destructor.
//
// The registry is header-only, so test_support needs no Catch2: programs
// that link test_support without the listener (the benchmarks, the chaos
// campaign) just never read it.
#ifndef SHAREPLANE_TESTS_SUPPORT_FAILURE_LOGS_H_
#define SHAREPLANE_TESTS_SUPPORT_FAILURE_LOGS_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace shareplane::testing {

// Thread-safe. A source is called with the registry's lock held, so Remove
// waits for a print in progress: a source never outlives its owner.
class FailureLogs {
 public:
  // What to print for one live object (its logs' tail, headed with its
  // daemons' names).
  using Source = std::function<std::string()>;

  // Returns the key to Remove it with; keys are never reused.
  static int Add(Source source) {
    Registry& r = Get();
    std::lock_guard<std::mutex> lock(r.mu);
    const int key = ++r.last_key;
    r.sources.emplace(key, std::move(source));
    return key;
  }
  static void Remove(int key) {
    Registry& r = Get();
    std::lock_guard<std::mutex> lock(r.mu);
    r.sources.erase(key);
  }
  // Calls `fn(key, text)` for each live source whose key `want(key)`
  // accepts, in registration order.
  static void Collect(const std::function<bool(int)>& want,
                      const std::function<void(int, const std::string&)>& fn) {
    Registry& r = Get();
    std::lock_guard<std::mutex> lock(r.mu);
    for (const auto& [key, source] : r.sources) {
      if (want(key)) fn(key, source());
    }
  }

 private:
  struct Registry {
    std::mutex mu;
    int last_key = 0;
    std::map<int, Source> sources;
  };
  // One registry per program (an inline function's static is shared by
  // every translation unit).
  static Registry& Get() {
    static Registry registry;
    return registry;
  }
};

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_SUPPORT_FAILURE_LOGS_H_
