// Attach benchmark: the real daemons (api, conductor, compute agent, Manila
// emulator) over a throwaway PostgreSQL and RabbitMQ. Prints request rates,
// latency percentiles, end-to-end attach throughput and daemon memory.
//
//   build/tests/bench/attach_bench [servers=200] [clients=8] [seconds=5]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/pg/store.h"
#include "tests/bench/latencies.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using Steady = std::chrono::steady_clock;

namespace {

void Print(const char* what, Latencies& l, double seconds, int errors) {
  std::printf(
      "%-28s %7zu req %8.1f req/s  p50 %6.2f ms  p90 %6.2f ms  "
      "p99 %6.2f ms  max %6.2f ms  errors %d\n",
      what, l.ms.size(), l.ms.size() / seconds, l.Pct(0.5), l.Pct(0.9),
      l.Pct(0.99), l.Pct(1.0), errors);
}

}  // namespace

int main(int argc, char** argv) {
  const int servers = argc > 1 ? std::atoi(argv[1]) : 200;
  const int clients = argc > 2 ? std::atoi(argv[2]) : 8;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  ScopedServices services;
  int failures = 0;
  {
    Stack stack;
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartCompute();
    stack.StartApi();
    std::vector<std::pair<std::string, std::string>> pairs;
    for (int i = 0; i < servers; ++i) {
      pairs.emplace_back(stack.CreateServer("hv1"), stack.CreateShare());
    }
    std::printf("attach_bench: %d servers, %d clients, %d cores\n", servers,
                clients, static_cast<int>(std::thread::hardware_concurrency()));

    // 1. POST attach, `clients` at a time.
    Latencies post;
    std::atomic<int> next{0}, errors{0};
    const auto t0 = Steady::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&] {
        for (int i; (i = next++) < servers;) {
          const auto s = Steady::now();
          HttpResponse r = stack.Api(
              "POST", "/v2.1/servers/" + pairs[i].first + "/shares",
              nlohmann::json{{"share", {{"share_id", pairs[i].second}}}}
                  .dump());
          post.Add(std::chrono::duration<double, std::milli>(Steady::now() - s)
                       .count());
          if (r.status != 201) ++errors;
        }
      });
    }
    for (auto& t : threads) t.join();
    threads.clear();
    const double post_s =
        std::chrono::duration<double>(Steady::now() - t0).count();
    Print("POST attach (201)", post, post_s, errors);
    failures += errors;

    // 2. Until every mapping is inactive: the whole workflow's throughput.
    auto pending = [&] {
      int n = -1;
      (void)stack.db().Transact([&](pqxx::work& w) {
        n = w.exec(
                 "SELECT count(*) FROM share_mappings WHERE status <> "
                 "'inactive'")[0][0]
                .as<int>();
        return absl::OkStatus();
      });
      return n;
    };
    const bool done =
        WaitUntil([&] { return pending() == 0; }, std::chrono::seconds(600));
    const double e2e_s =
        std::chrono::duration<double>(Steady::now() - t0).count();
    std::printf("%-28s %7d attachments in %.2f s = %.1f attach/s%s\n",
                "attach end to end", servers, e2e_s, servers / e2e_s,
                done ? "" : " (NOT ALL FINISHED)");
    if (!done) ++failures;

    // 3. GET list for `seconds`.
    Latencies get;
    errors = 0;
    std::atomic<bool> stop{false};
    const auto t1 = Steady::now();
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (int i = c; !stop; i += clients) {
          const auto s = Steady::now();
          HttpResponse r = stack.Api(
              "GET", "/v2.1/servers/" + pairs[i % servers].first + "/shares");
          get.Add(std::chrono::duration<double, std::milli>(Steady::now() - s)
                      .count());
          if (r.status != 200) ++errors;
        }
      });
    }
    // Kept sleep: the measurement lasts `seconds`.
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    Print("GET list (200)", get,
          std::chrono::duration<double>(Steady::now() - t1).count(), errors);
    failures += errors;
    std::printf(
        "%-28s api %ld KiB, conductor %ld KiB, compute %ld KiB, "
        "emulator %ld KiB\n",
        "RSS after the run", stack.RssKiB("api"), stack.RssKiB("conductor"),
        stack.RssKiB("compute"), stack.RssKiB("manila-emulator"));
  }
  return failures == 0 ? 0 : 1;
}
