// Compute API benchmark: GET /v2.1/servers/{id}/shares and GET
// /v2.1/servers/{id} at 1, 16 and 64 connections, and attach+detach pairs,
// against the real daemons over PostgreSQL and RabbitMQ. Prints requests/s,
// latency percentiles and the API process's CPU time per request.
//
//   build/tests/bench/api_bench [seconds=5] [servers=100] [api workers=16]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/bench/load.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using Steady = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

struct Result {
  std::vector<double> ms;
  int errors = 0;
  double seconds = 0;
  double api_cpu = 0;
  double Pct(double p) const {
    if (ms.empty()) return 0;
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  }
};

// `conns` threads, each with its own keep-alive connection, call `op(i)`
// in a loop for `seconds`; op returns true on the expected status.
Result Load(Stack& stack, int conns, int seconds,
            const std::function<bool(int, int)>& op) {
  std::mutex mu;
  Result r;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const double cpu0 = stack.CpuSeconds("api");
  const auto t0 = Steady::now();
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double> mine;
      int errors = 0;
      for (int i = 0; !stop; ++i) {
        const auto s = Steady::now();
        if (!op(c, i)) ++errors;
        mine.push_back(
            std::chrono::duration<double, std::milli>(Steady::now() - s)
                .count());
      }
      std::lock_guard<std::mutex> lock(mu);
      r.ms.insert(r.ms.end(), mine.begin(), mine.end());
      r.errors += errors;
    });
  }
  // Kept sleep: the measurement lasts `seconds`.
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  r.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  r.api_cpu = stack.CpuSeconds("api") - cpu0;
  std::sort(r.ms.begin(), r.ms.end());
  return r;
}

void Print(const std::string& what, int conns, const Result& r) {
  std::printf(
      "%-26s conns %3d  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  "
      "api cpu %5.3f ms/req  errors %d\n",
      what.c_str(), conns, r.ms.size() / r.seconds, r.Pct(0.5), r.Pct(0.99),
      r.ms.empty() ? 0 : 1000 * r.api_cpu / r.ms.size(), r.errors);
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 5;
  const int servers = argc > 2 ? std::atoi(argv[2]) : 100;
  const int workers = argc > 3 ? std::atoi(argv[3]) : 16;
  ScopedServices services;
  int failures = 0;
  {
    // Per-request logging stays on (INFO), as in production.
    Stack stack("[DEFAULT]\ndebug = false\n[api]\nworkers = " +
                std::to_string(workers) + "\n");
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartCompute();
    stack.StartApi();
    std::vector<std::string> ids;
    for (int i = 0; i < servers; ++i) {
      ids.push_back(stack.CreateServer("hv1"));
      const std::string share = stack.CreateShare();
      stack.Api("POST", "/v2.1/servers/" + ids.back() + "/shares",
                json{{"share", {{"share_id", share}}}}.dump());
    }
    WaitUntil(
        [&] {
          int attaching = -1;
          (void)stack.db().Transact([&](pqxx::work& w) {
            attaching = w.exec(
                             "SELECT count(*) FROM share_mappings WHERE "
                             "status = 'attaching'")[0][0]
                            .as<int>();
            return absl::OkStatus();
          });
          return attaching == 0;
        },
        std::chrono::seconds(120));
    std::printf(
        "api_bench: %d servers with one share each, %d s per run, %d API "
        "workers, %u cores\n",
        servers, seconds, workers, std::thread::hardware_concurrency());
    // GETs from the epoll load generator (cheap on CPU, so the API and
    // PostgreSQL get most of the two cores).
    const int port = std::stoi(stack.api_url().substr(17));
    for (const std::string suffix : {"/shares", ""}) {
      for (int conns : {1, 16, 64}) {
        const double cpu0 = stack.CpuSeconds("api");
        bench::LoadResult r = bench::RunLoad(port, conns, seconds, [&](long i) {
          return "GET /v2.1/servers/" + ids[i % ids.size()] + suffix +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "X-Auth-Token: alice:demo\r\n"
                 "OpenStack-API-Version: compute 2.97\r\n\r\n";
        });
        const double cpu = stack.CpuSeconds("api") - cpu0;
        std::printf(
            "%-26s conns %3d  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  "
            "api cpu %5.3f ms/req  errors %d\n",
            ("GET servers/{id}" + suffix).c_str(), conns, r.Rate(),
            r.Percentile(0.5), r.Percentile(0.99),
            1000 * cpu / std::max<size_t>(1, r.latencies_ms.size()), r.non_2xx);
        failures += r.non_2xx;
      }
    }
    // The list again at a fixed 10,000 requests/s over 64 connections
    // (open loop): latency as users would see it at that load.
    {
      const double cpu0 = stack.CpuSeconds("api");
      bench::LoadResult r = bench::RunLoad(
          port, 64, seconds,
          [&](long i) {
            return "GET /v2.1/servers/" + ids[i % ids.size()] +
                   "/shares HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "X-Auth-Token: alice:demo\r\n"
                   "OpenStack-API-Version: compute 2.97\r\n\r\n";
          },
          10000);
      const double cpu = stack.CpuSeconds("api") - cpu0;
      std::printf(
          "%-26s conns %3d  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  "
          "api cpu %5.3f ms/req  errors %d  (open loop at 10000/s)\n",
          "GET servers/{id}/shares", 64, r.Rate(), r.Percentile(0.5),
          r.Percentile(0.99),
          1000 * cpu / std::max<size_t>(1, r.latencies_ms.size()), r.non_2xx);
      failures += r.non_2xx;
    }
    // Attach+detach pairs: each connection works on its own server with a
    // fresh share each time (the detach is queued, so re-attaching the same
    // share at once would rightly be a conflict).
    const int conns = 16;
    std::vector<std::vector<std::string>> shares(conns);
    for (int c = 0; c < conns; ++c) {
      for (int i = 0; i < 400; ++i) shares[c].push_back(stack.CreateShare());
    }
    Result r = Load(stack, conns, seconds, [&](int c, int i) {
      if (i >= static_cast<int>(shares[c].size())) return true;
      const std::string base = "/v2.1/servers/" + ids[c] + "/shares";
      HttpResponse a = stack.Api(
          "POST", base, json{{"share", {{"share_id", shares[c][i]}}}}.dump());
      HttpResponse d = stack.Api("DELETE", base + "/" + shares[c][i]);
      return a.status == 201 && d.status == 200;
    });
    Print("attach+detach pairs", conns, r);
    failures += r.errors;
    std::printf("%-26s api %ld KiB, conductor %ld KiB\n", "RSS after the run",
                stack.RssKiB("api"), stack.RssKiB("conductor"));
  }
  return failures == 0 ? 0 : 1;
}
