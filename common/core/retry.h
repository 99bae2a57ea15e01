// The one retry loop and the one polling loop. Nothing else retries or sleeps.
#ifndef SHAREPLANE_COMMON_CORE_RETRY_H_
#define SHAREPLANE_COMMON_CORE_RETRY_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/core/clock.h"

namespace shareplane {

struct RetryPolicy {
  int max_attempts = 5;
  Duration initial_backoff = std::chrono::milliseconds(100);
  Duration max_backoff = std::chrono::seconds(5);
  // Overall budget measured on the clock; zero means no deadline.
  Duration deadline = Duration::zero();
  // Jitter: each wait is backoff * (1 - jitter .. 1).
  double jitter = 0.2;
};

// Calls `fn` until it succeeds, fails with a non-transient code (see
// IsTransient), or the policy is exhausted; returns the last status.
// Only wrap idempotent operations.
absl::Status Retry(Clock& clock, const RetryPolicy& policy,
                   const std::function<absl::Status()>& fn);

// Calls `probe` every `interval` until it returns true (success), an error
// (returned as is), or `timeout` passes (DeadlineExceeded naming `what`).
// With `max_interval` above `interval`, the wait doubles after each probe up
// to `max_interval` (backoff: quick answers are seen quickly, slow ones cost
// few calls).
absl::Status PollUntil(Clock& clock, Duration timeout, Duration interval,
                       absl::string_view what,
                       const std::function<absl::StatusOr<bool>()>& probe,
                       Duration max_interval = Duration::zero());

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_RETRY_H_
