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
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void FakeClock::SleepFor(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  TimePoint until = now_ + d;
  ++sleepers_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return now_ >= until; });
  --sleepers_;
}

void FakeClock::Advance(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
  cv_.notify_all();
}

int FakeClock::sleepers() {
  std::lock_guard<std::mutex> lock(mu_);
  return sleepers_;
}

void StopSignal::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

bool StopSignal::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool StopSignal::WaitFor(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [&] { return stopped_; });
}

}  // namespace shareplane
