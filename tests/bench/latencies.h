// Latency samples from many threads, and their percentiles: what the
// end-to-end benchmarks print; a timed phase of concurrent operations.
#ifndef SHAREPLANE_TESTS_BENCH_LATENCIES_H_
#define SHAREPLANE_TESTS_BENCH_LATENCIES_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace shareplane::testing {

struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  void Add(double v) {
    std::lock_guard<std::mutex> lock(mu);
    ms.push_back(v);
  }
  double Pct(double p) {
    std::lock_guard<std::mutex> lock(mu);
    std::sort(ms.begin(), ms.end());
    if (ms.empty()) return 0;
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  }
};

// Runs `one(i)` for i in [0, n), `clients` at a time, timing each; prints
// the phase's figures and returns how many failed.
inline int Phase(const char* what, int n, int clients, Latencies& l,
                 const std::function<bool(int)>& one) {
  using Steady = std::chrono::steady_clock;
  std::atomic<int> next{0}, errors{0};
  const auto t0 = Steady::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < n;) {
        const auto s = Steady::now();
        if (!one(i)) ++errors;
        l.Add(std::chrono::duration<double, std::milli>(Steady::now() - s)
                  .count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Steady::now() - t0).count();
  std::printf(
      "%-26s %5d in %6.2f s = %6.1f/s  p50 %7.1f ms  p90 %7.1f ms  "
      "max %7.1f ms  errors %d\n",
      what, n, secs, n / secs, l.Pct(0.5), l.Pct(0.9), l.Pct(1.0),
      errors.load());
  return errors;
}

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_BENCH_LATENCIES_H_
