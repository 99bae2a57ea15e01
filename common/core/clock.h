// Time as a dependency. Logic asks a Clock for the time and waits through it,
// so tests can drive time with FakeClock instead of sleeping.
#ifndef SHAREPLANE_COMMON_CORE_CLOCK_H_
#define SHAREPLANE_COMMON_CORE_CLOCK_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

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
  TimePoint Now() override;
  void SleepFor(Duration d) override;
  void Advance(Duration d);
  // Number of threads currently blocked in SleepFor.
  int sleepers();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  TimePoint now_{};
  int sleepers_ = 0;
};

// A stop flag that sleeping loops can wait on: Stop() wakes them at once.
class StopSignal {
 public:
  void Stop();
  bool stopped();
  // Returns true if stopped before `d` passed.
  bool WaitFor(Duration d);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_CLOCK_H_
