// The project's mutex and condition variable: std::mutex and
// std::condition_variable under Abseil's thread-safety annotations, so that
// clang's -Wthread-safety checks ABSL_GUARDED_BY /
// ABSL_EXCLUSIVE_LOCKS_REQUIRED against them as it would absl::Mutex.
//
// Why not absl::Mutex:
// - Debian's libabsl_synchronization is not built with ThreadSanitizer, so
//   TSan does not see absl::Mutex's locking and reports races on every
//   member it guards (tests/run's tsan mode). std::mutex and
//   std::condition_variable are pthread calls, which TSan intercepts.
// - Abseil 20220623's AwaitWithTimeout measures timeouts on the wall clock
//   (a clock step shortens or stretches them). CondVar waits on the steady
//   clock only.
//
// A CondVar has no absl::Condition: nothing re-evaluates a wait's condition
// when the mutex is released. Wait in a loop, `while (!cond) cv.Wait(&mu);`,
// and Signal/SignalAll wherever the condition can become true.
#ifndef SHAREPLANE_COMMON_CORE_MUTEX_H_
#define SHAREPLANE_COMMON_CORE_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace shareplane {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the thread-safety analysis that the caller holds the lock (for
  // code it cannot follow, such as a callback run under the lock). Checks
  // nothing at run time.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A MutexLock that Release() can give up before the end of its scope.
class ABSL_SCOPED_LOCKABLE ReleasableMutexLock {
 public:
  explicit ReleasableMutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  ~ReleasableMutexLock() ABSL_UNLOCK_FUNCTION() {
    if (mu_ != nullptr) mu_->Unlock();
  }
  // At most once.
  void Release() ABSL_UNLOCK_FUNCTION() {
    mu_->Unlock();
    mu_ = nullptr;
  }
  ReleasableMutexLock(const ReleasableMutexLock&) = delete;
  ReleasableMutexLock& operator=(const ReleasableMutexLock&) = delete;

 private:
  Mutex* mu_;
};

// The steady-clock time `d` from now, saturating instead of overflowing (a
// negative `d` gives now: a wait until it times out at once).
inline std::chrono::steady_clock::time_point SteadyDeadline(
    std::chrono::steady_clock::duration d) {
  using std::chrono::steady_clock;
  const steady_clock::time_point now = steady_clock::now();
  if (d <= steady_clock::duration::zero()) return now;
  if (d >= steady_clock::time_point::max() - now) {
    return steady_clock::time_point::max();
  }
  return now + d;
}

// Waits release `mu` while blocked and hold it again when they return,
// like std::condition_variable's. Any wait may return spuriously: recheck
// the condition.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: the caller's to unlock
  }
  // True when `deadline` passed (the condition may have become true all
  // the same: recheck it).
  bool WaitUntil(Mutex* mu, std::chrono::steady_clock::time_point deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool timed_out =
        cv_.wait_until(lock, deadline) == std::cv_status::timeout;
    lock.release();
    return timed_out;
  }
  // True when `timeout` passed. In a loop, compute one deadline with
  // SteadyDeadline and use WaitUntil instead: WaitFor starts afresh.
  bool WaitFor(Mutex* mu, std::chrono::steady_clock::duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return WaitUntil(mu, SteadyDeadline(timeout));
  }

  // Wakes one waiter, or all. With or without the mutex held.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// A lock a caller waits for with a timeout, for locks made at run time
// (one per server): a flag under a Mutex. std::timed_mutex::try_lock_for
// waits in pthread_mutex_clocklock, which clang 14's ThreadSanitizer does
// not intercept (it then reports the unlock as one of an unlocked mutex).
class TimedMutex {
 public:
  // True with the lock taken; false when `timeout` passed first.
  bool TryLockFor(std::chrono::steady_clock::duration timeout)
      ABSL_LOCKS_EXCLUDED(mu_) {
    const std::chrono::steady_clock::time_point deadline =
        SteadyDeadline(timeout);
    MutexLock lock(&mu_);
    while (held_) {
      if (cv_.WaitUntil(&mu_, deadline) && held_) return false;
    }
    held_ = true;
    return true;
  }
  void Unlock() ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    held_ = false;
    cv_.Signal();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_MUTEX_H_
