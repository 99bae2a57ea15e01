// Time as a dependency. Logic asks a Clock for the time and waits through it,
// so tests can drive time with FakeClock instead of sleeping.
#ifndef SHAREPLANE_COMMON_CORE_CLOCK_H_
#define SHAREPLANE_COMMON_CORE_CLOCK_H_

#include <chrono>

#include "absl/base/thread_annotations.h"
#include "common/core/mutex.h"

namespace shareplane {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  // Blocks for `d` of this clock's time.
  virtual void SleepFor(Duration d) = 0;
};

class RealClock : public Clock {
 public:
  TimePoint Now() override;
  void SleepFor(Duration d) override;
  static RealClock* Get();
};

// Time moves only when Advance() is called; SleepFor blocks until it has.
class FakeClock : public Clock {
 public:
  TimePoint Now() override ABSL_LOCKS_EXCLUDED(mu_);
  void SleepFor(Duration d) override ABSL_LOCKS_EXCLUDED(mu_);
  void Advance(Duration d) ABSL_LOCKS_EXCLUDED(mu_);
  // Number of threads currently blocked in SleepFor.
  int sleepers() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Mutex mu_;
  CondVar advanced_;  // signalled (all) when now_ moves
  TimePoint now_ ABSL_GUARDED_BY(mu_) = TimePoint();
  int sleepers_ ABSL_GUARDED_BY(mu_) = 0;
};

// A stop flag that sleeping loops can wait on: Stop() wakes them at once.
class StopSignal {
 public:
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  bool stopped() ABSL_LOCKS_EXCLUDED(mu_);
  // Returns true if stopped before `d` passed.
  bool WaitFor(Duration d) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Mutex mu_;
  CondVar stopped_cv_;  // signalled (all) when stopped_ is set
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_CLOCK_H_
