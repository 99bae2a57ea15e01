// Workflow benchmark: many attaches through the real daemons, measuring how
// fast the conductor turns them into `inactive` mappings. The Manila
// emulator applies rules with no delay, so the figures are Shareplane's own
// cost (API, outbox relay, RabbitMQ, conductor, PostgreSQL, Manila calls).
//
//   build/tests/bench/workflow_bench [servers=100] [shares_per_server=10]
//                                    [clients=8] [apply_delay_ms=0]
//                                    [conductor_workers=default] [rate=0]
//
// With `rate`, attach k is posted at k/rate seconds (open-loop arrivals);
// otherwise the clients post back to back.
//
// Each server gets its own shares; attaches are posted share by share
// across all servers. Time from 201 to inactive is measured per mapping on
// PostgreSQL's clock (created_at to the update that made it inactive).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using Steady = std::chrono::steady_clock;

namespace {

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  const int servers = argc > 1 ? std::atoi(argv[1]) : 100;
  const int per_server = argc > 2 ? std::atoi(argv[2]) : 10;
  const int clients = argc > 3 ? std::atoi(argv[3]) : 8;
  const int apply_delay_ms = argc > 4 ? std::atoi(argv[4]) : 0;
  // 0: the conductor's default ([conductor] workers).
  const int workers = argc > 5 ? std::atoi(argv[5]) : 0;
  // Attaches posted per second in total; 0: as fast as the clients go.
  const double rate = argc > 6 ? std::atof(argv[6]) : 0;
  const int total = servers * per_server;
  ScopedServices services;
  int failures = 0;
  {
    // INFO logging, as in production.
    Stack stack(std::string("[DEFAULT]\ndebug = false\n") +
                (workers > 0 ? "[conductor]\nworkers = " +
                                   std::to_string(workers) + "\n"
                             : ""));
    stack.StartEmulator(apply_delay_ms);
    stack.StartConductor();
    stack.StartApi();
    std::vector<std::string> server_ids;
    // (server, share) in posting order: share j of every server, then j+1.
    std::vector<std::pair<std::string, std::string>> work(total);
    for (int i = 0; i < servers; ++i) {
      server_ids.push_back(
          stack.CreateServer("hv" + std::to_string(i % 4 + 1)));
    }
    for (int j = 0; j < per_server; ++j) {
      for (int i = 0; i < servers; ++i) {
        work[j * servers + i] = {server_ids[i], stack.CreateShare()};
      }
    }
    std::printf(
        "workflow_bench: %d attaches over %d servers, %d clients, apply "
        "delay %d ms, rate %s, %d cores\n",
        total, servers, clients, apply_delay_ms,
        rate > 0 ? (std::to_string(static_cast<int>(rate)) + "/s").c_str()
                 : "unpaced",
        static_cast<int>(std::thread::hardware_concurrency()));

    std::atomic<int> next{0}, errors{0};
    const auto t0 = Steady::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&] {
        for (int i; (i = next++) < total;) {
          if (rate > 0) {  // kept: paces the load at `rate` per second
            std::this_thread::sleep_until(
                t0 + std::chrono::duration_cast<Steady::duration>(
                         std::chrono::duration<double>(i / rate)));
          }
          HttpResponse r = stack.Api(
              "POST", "/v2.1/servers/" + work[i].first + "/shares",
              nlohmann::json{{"share", {{"share_id", work[i].second}}}}.dump());
          if (r.status != 201) ++errors;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double post_s =
        std::chrono::duration<double>(Steady::now() - t0).count();
    std::printf("%-30s %d in %.2f s = %.1f req/s, errors %d\n",
                "POST attach (201)", total, post_s, total / post_s,
                errors.load());
    failures += errors;

    auto count = [&](const char* sql) {
      int n = -1;
      (void)stack.db().Read([&](pqxx::transaction_base& w) {
        n = w.exec(sql)[0][0].as<int>();
        return absl::OkStatus();
      });
      return n;
    };
    const bool done = WaitUntil(
        [&] {
          return count(
                     "SELECT count(*) FROM share_mappings WHERE status IN "
                     "('attaching')") == 0;
        },
        std::chrono::seconds(600));
    const int inactive =
        count("SELECT count(*) FROM share_mappings WHERE status = 'inactive'");
    if (!done || inactive != total) ++failures;

    std::vector<double> latency_ms;
    double span_s = 0;
    (void)stack.db().Read([&](pqxx::transaction_base& w) {
      for (const auto& row :
           w.exec("SELECT extract(epoch FROM updated_at - created_at) * 1000 "
                  "FROM share_mappings WHERE status = 'inactive'")) {
        latency_ms.push_back(row[0].as<double>());
      }
      span_s = w.exec(
                    "SELECT extract(epoch FROM max(updated_at) - "
                    "min(created_at)) FROM share_mappings")[0][0]
                   .as<double>();
      return absl::OkStatus();
    });
    std::printf("%-30s %d of %d inactive in %.2f s = %.1f attach/s\n",
                "first 201 to last inactive", inactive, total, span_s,
                inactive / span_s);
    std::printf(
        "%-30s p50 %7.1f ms  p90 %7.1f ms  p99 %7.1f ms  max %7.1f ms\n",
        "201 to inactive, per attach", Pct(latency_ms, 0.5),
        Pct(latency_ms, 0.9), Pct(latency_ms, 0.99), Pct(latency_ms, 1.0));
    std::printf("%-30s conductor %.2f s, api %.2f s, emulator %.2f s\n",
                "CPU used", stack.CpuSeconds("conductor"),
                stack.CpuSeconds("api"), stack.CpuSeconds("manila-emulator"));
    std::printf("%-30s api %ld KiB, conductor %ld KiB, emulator %ld KiB\n",
                "RSS after the run", stack.RssKiB("api"),
                stack.RssKiB("conductor"), stack.RssKiB("manila-emulator"));
  }
  return failures == 0 ? 0 : 1;
}
