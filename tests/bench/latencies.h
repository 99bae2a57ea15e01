// Latency samples from many threads, and their percentiles: what the
// end-to-end benchmarks print.
#ifndef SHAREPLANE_TESTS_BENCH_LATENCIES_H_
#define SHAREPLANE_TESTS_BENCH_LATENCIES_H_

#include <algorithm>
#include <mutex>
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

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_BENCH_LATENCIES_H_
