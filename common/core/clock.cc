#include "common/core/clock.h"

#include <thread>

namespace shareplane {

TimePoint RealClock::Now() { return std::chrono::steady_clock::now(); }
void RealClock::SleepFor(Duration d) { std::this_thread::sleep_for(d); }
RealClock* RealClock::Get() {
  static RealClock* clock = new RealClock;
  return clock;
}

TimePoint FakeClock::Now() {
  MutexLock lock(&mu_);
  return now_;
}

void FakeClock::SleepFor(Duration d) {
  MutexLock lock(&mu_);
  const TimePoint until = now_ + d;
  ++sleepers_;
  while (now_ < until) advanced_.Wait(&mu_);
  --sleepers_;
}

void FakeClock::Advance(Duration d) {
  MutexLock lock(&mu_);
  now_ += d;
  advanced_.SignalAll();  // each sleeper checks whether its time has come
}

int FakeClock::sleepers() {
  MutexLock lock(&mu_);
  return sleepers_;
}

void StopSignal::Stop() {
  MutexLock lock(&mu_);
  stopped_ = true;
  stopped_cv_.SignalAll();
}

bool StopSignal::stopped() {
  MutexLock lock(&mu_);
  return stopped_;
}

bool StopSignal::WaitFor(Duration d) {
  MutexLock lock(&mu_);
  // True iff stopped_ on return, as condition_variable::wait_for with a
  // predicate (a negative `d` does not wait); `d` runs on the steady clock.
  const auto deadline = SteadyDeadline(d);
  while (!stopped_) {
    if (stopped_cv_.WaitUntil(&mu_, deadline)) return stopped_;
  }
  return true;
}

}  // namespace shareplane
