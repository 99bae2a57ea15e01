#include "common/core/retry.h"

#include <algorithm>
#include <random>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace shareplane {

absl::Status Retry(Clock& clock, const RetryPolicy& policy,
                   const std::function<absl::Status()>& fn) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const TimePoint start = clock.Now();
  Duration backoff = policy.initial_backoff;
  absl::Status status;
  for (int attempt = 1;; ++attempt) {
    status = fn();
    if (status.ok() || !IsTransient(status)) return status;
    if (attempt >= policy.max_attempts) return status;
    std::uniform_real_distribution<double> dist(1.0 - policy.jitter, 1.0);
    Duration wait = std::chrono::duration_cast<Duration>(backoff * dist(rng));
    if (policy.deadline != Duration::zero() &&
        clock.Now() + wait - start > policy.deadline) {
      return status;
    }
    clock.SleepFor(wait);
    backoff = std::min(policy.max_backoff, backoff * 2);
  }
}

absl::Status PollUntil(Clock& clock, Duration timeout, Duration interval,
                       absl::string_view what,
                       const std::function<absl::StatusOr<bool>()>& probe,
                       Duration max_interval) {
  const TimePoint deadline = clock.Now() + timeout;
  while (true) {
    absl::StatusOr<bool> done = probe();
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
    if (clock.Now() + interval > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "Timed out after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(timeout)
              .count(),
          " ms waiting for ", what));
    }
    clock.SleepFor(interval);
    if (max_interval > interval)
      interval = std::min(2 * interval, max_interval);
  }
}

}  // namespace shareplane
