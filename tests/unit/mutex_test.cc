// The project mutex and condition variable (common/core/mutex.h), and the
// StopSignal built on them. Threads record what they saw; the checks run
// after the join.
#include "common/core/mutex.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/core/clock.h"

using namespace shareplane;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

struct Flag {
  Mutex mu;
  CondVar cv;
  bool waiting ABSL_GUARDED_BY(mu) = false;  // the waiter is in its wait
  bool set ABSL_GUARDED_BY(mu) = false;
};

// Until the waiter of `f` has released f.mu in its wait.
void AwaitWaiter(Flag& f) {
  for (;;) {
    {
      MutexLock lock(&f.mu);
      if (f.waiting) return;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
}

}  // namespace

TEST_CASE("CondVar::WaitFor times out after its timeout on the steady clock",
          "[unit]") {
  Mutex mu;
  CondVar cv;
  const auto timeout = milliseconds(100);
  bool timed_out = false;
  const auto start = steady_clock::now();
  {
    MutexLock lock(&mu);
    timed_out = cv.WaitFor(&mu, timeout);
  }
  const auto waited = steady_clock::now() - start;
  CHECK(timed_out);
  CHECK(waited >= timeout);
  CHECK(waited < std::chrono::seconds(5));
}

TEST_CASE("CondVar waits with a past deadline time out at once", "[unit]") {
  Mutex mu;
  CondVar cv;
  bool negative = false, past = false;
  const auto start = steady_clock::now();
  {
    MutexLock lock(&mu);
    negative = cv.WaitFor(&mu, milliseconds(-5));
    past = cv.WaitUntil(&mu, steady_clock::now() - milliseconds(5));
  }
  CHECK(negative);
  CHECK(past);
  CHECK(steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("SteadyDeadline saturates instead of overflowing", "[unit]") {
  CHECK(SteadyDeadline(steady_clock::duration::max()) ==
        steady_clock::time_point::max());
  // The deadline first, then the clock: the operands of <= have no order.
  const steady_clock::time_point deadline =
      SteadyDeadline(steady_clock::duration::min());
  CHECK(deadline <= steady_clock::now());
}

TEST_CASE("CondVar::Signal wakes a waiter", "[unit]") {
  Flag f;
  bool timed_out = false, saw_set = false;  // written by the waiter
  std::thread waiter([&] {
    MutexLock lock(&f.mu);
    f.waiting = true;
    // Bounded, so that a lost signal fails the test instead of hanging it.
    const auto deadline = SteadyDeadline(std::chrono::seconds(10));
    while (!f.set && !timed_out) timed_out = f.cv.WaitUntil(&f.mu, deadline);
    saw_set = f.set;
  });
  AwaitWaiter(f);
  const auto start = steady_clock::now();
  {
    MutexLock lock(&f.mu);
    f.set = true;
    f.cv.Signal();
  }
  waiter.join();
  CHECK_FALSE(timed_out);  // woken by the signal, not by the deadline
  CHECK(saw_set);
  CHECK(steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("CondVar::SignalAll wakes every waiter", "[unit]") {
  Flag f;
  int waiting = 0;                     // guarded by f.mu
  bool saw_set[2] = {false, false};    // written by the waiters
  bool timed_out[2] = {false, false};  // written by the waiters
  std::thread waiters[2];
  for (int i = 0; i < 2; ++i) {
    waiters[i] = std::thread([&, i] {
      MutexLock lock(&f.mu);
      if (++waiting == 2) f.waiting = true;
      const auto deadline = SteadyDeadline(std::chrono::seconds(10));
      while (!f.set && !timed_out[i]) {
        timed_out[i] = f.cv.WaitUntil(&f.mu, deadline);
      }
      saw_set[i] = f.set;
    });
  }
  AwaitWaiter(f);
  {
    MutexLock lock(&f.mu);
    f.set = true;
    f.cv.SignalAll();
  }
  for (auto& t : waiters) t.join();
  CHECK_FALSE(timed_out[0]);
  CHECK_FALSE(timed_out[1]);
  CHECK(saw_set[0]);
  CHECK(saw_set[1]);
}

TEST_CASE("StopSignal::WaitFor times out, and Stop() ends it early", "[unit]") {
  StopSignal stop;
  const auto start = steady_clock::now();
  CHECK_FALSE(stop.WaitFor(milliseconds(50)));
  CHECK(steady_clock::now() - start >= milliseconds(50));

  bool stopped = false;  // written by the waiter
  steady_clock::duration waited{};
  std::thread waiter([&] {
    const auto t0 = steady_clock::now();
    stopped = stop.WaitFor(std::chrono::seconds(30));
    waited = steady_clock::now() - t0;
  });
  std::this_thread::sleep_for(milliseconds(20));
  stop.Stop();
  waiter.join();
  CHECK(stopped);
  CHECK(waited < std::chrono::seconds(10));
  CHECK(stop.WaitFor(std::chrono::hours(1)));  // stopped: no wait
}

TEST_CASE("TimedMutex waits for its holder, or gives up at the timeout",
          "[unit]") {
  TimedMutex mu;
  REQUIRE(mu.TryLockFor(milliseconds(0)));
  const auto start = steady_clock::now();
  CHECK_FALSE(mu.TryLockFor(milliseconds(50)));  // held: times out
  CHECK(steady_clock::now() - start >= milliseconds(50));

  bool got = false;  // written by the waiter
  std::thread waiter([&] { got = mu.TryLockFor(std::chrono::seconds(30)); });
  mu.Unlock();  // the waiter takes it, however it is scheduled
  waiter.join();
  CHECK(got);
  CHECK_FALSE(mu.TryLockFor(milliseconds(0)));  // the waiter holds it now
  mu.Unlock();
  CHECK(mu.TryLockFor(milliseconds(0)));
  mu.Unlock();
}
