// A small HTTP/1.1 load generator for the benchmarks: one thread, epoll,
// `connections` keep-alive connections each sending the next request as
// soon as the previous response is complete. Cheap enough that the server,
// not the client, uses most of the CPU.
#ifndef SHAREPLANE_TESTS_BENCH_LOAD_H_
#define SHAREPLANE_TESTS_BENCH_LOAD_H_

#include <functional>
#include <string>
#include <vector>

namespace shareplane::bench {

struct LoadResult {
  std::vector<double> latencies_ms;  // sorted
  int non_2xx = 0;
  double seconds = 0;
  double Percentile(double p) const;
  double Rate() const { return latencies_ms.size() / seconds; }
};

// `request(i)` gives the raw bytes of the i-th request (with Host and
// keep-alive). Runs for `seconds`.
//
// rate == 0: closed loop, each connection sends its next request as soon as
// the previous answer is in (latency = 64 / throughput with 64 connections).
// rate > 0: open loop, requests are due at `rate` per second in all, spread
// over the connections; latency counts from when a request was due, so a
// slow answer also delays the ones behind it (no coordinated omission).
LoadResult RunLoad(int port, int connections, double seconds,
                   const std::function<std::string(long)>& request,
                   double rate = 0);

}  // namespace shareplane::bench

#endif  // SHAREPLANE_TESTS_BENCH_LOAD_H_
