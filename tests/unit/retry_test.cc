#include "common/core/retry.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace shareplane;

TEST_CASE("retry stops at the first success", "[unit]") {
  FakeClock clock;
  std::atomic<int> calls{0};  // read by the advancer thread
  // Until Retry returns, however many calls it made (a Retry that gave up
  // early must fail the checks below, not leave the advancer spinning).
  std::atomic<bool> done{false};
  std::thread advancer([&] {
    while (!done.load()) {
      if (clock.sleepers() > 0) clock.Advance(std::chrono::seconds(10));
      std::this_thread::yield();
    }
  });
  absl::Status s = Retry(clock, RetryPolicy{}, [&] {
    const int n = ++calls;
    return n < 3 ? absl::UnavailableError("down") : absl::OkStatus();
  });
  done = true;
  advancer.join();
  CHECK(s.ok());
  CHECK(calls.load() == 3);
}

TEST_CASE("retry does not repeat a permanent error", "[unit]") {
  FakeClock clock;
  int calls = 0;
  absl::Status s = Retry(clock, RetryPolicy{}, [&] {
    ++calls;
    return absl::InvalidArgumentError("bad");
  });
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(calls == 1);
}

TEST_CASE("retry gives up after max_attempts with the last error", "[unit]") {
  RealClock clock;
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.initial_backoff = std::chrono::milliseconds(1);
  int calls = 0;
  absl::Status s = Retry(clock, policy, [&] {
    ++calls;
    return absl::UnavailableError("still down");
  });
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(calls == 3);
}

TEST_CASE("poll times out with DeadlineExceeded naming what it waited for",
          "[unit]") {
  FakeClock clock;
  std::atomic<bool> done{false};
  std::thread advancer([&] {
    while (!done) {
      if (clock.sleepers() > 0) clock.Advance(std::chrono::seconds(1));
      std::this_thread::yield();
    }
  });
  absl::Status s =
      PollUntil(clock, std::chrono::seconds(5), std::chrono::seconds(1),
                "the rule", [] { return absl::StatusOr<bool>(false); });
  done = true;
  advancer.join();
  CHECK(s.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(s.message()).find("the rule") != std::string::npos);
}

TEST_CASE("poll with backoff doubles its wait up to the maximum", "[unit]") {
  // A clock that records each wait and lets time pass at once.
  struct RecordingClock : Clock {
    TimePoint now{};
    std::vector<long> waits_ms;
    TimePoint Now() override { return now; }
    void SleepFor(Duration d) override {
      waits_ms.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
      now += d;
    }
  } clock;
  int probes = 0;
  absl::Status s = PollUntil(
      clock, std::chrono::seconds(1), std::chrono::milliseconds(10), "x",
      [&]() -> absl::StatusOr<bool> { return ++probes == 6; },
      std::chrono::milliseconds(80));
  REQUIRE(s.ok());
  CHECK(clock.waits_ms == std::vector<long>{10, 20, 40, 80, 80});
}
