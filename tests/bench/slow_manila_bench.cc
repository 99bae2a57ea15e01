// How the compute API answers while Manila is slow: `attaches` concurrent
// share attaches each wait on the API's Manila share check (the emulator
// answers every call after `latency` ms), while a second client asks for
// the version document (GET /v2.1/) and a database read (GET
// /v2.1/servers/detail) at a steady rate. Before the worker lanes every
// handler ran on the HTTP I/O threads and GET /v2.1/ took seconds.
//
//   slow_manila_bench [attaches=50] [latency_ms=3000] [seconds=5]
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "tests/bench/load.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

int main(int argc, char** argv) {
  const int attaches = argc > 1 ? std::atoi(argv[1]) : 50;
  const int latency_ms = argc > 2 ? std::atoi(argv[2]) : 3000;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  ScopedServices services(/*keystone=*/false);
  Stack stack("[DEFAULT]\ndebug = false\n");
  stack.StartEmulator();
  stack.StartApi();
  std::vector<std::string> servers, shares;
  for (int i = 0; i < attaches; ++i) {
    servers.push_back(stack.CreateServer());
    shares.push_back(stack.CreateShare());
  }
  HttpResponse injected = Http("POST", stack.manila_url() + "/_emulator/faults",
                               {{"X-Auth-Token", "admin:admin"}},
                               json{{"latency_ms", latency_ms}}.dump());
  if (injected.status != 204) {
    std::fprintf(stderr, "cannot slow the emulator down: %d\n",
                 injected.status);
    return 1;
  }
  std::printf(
      "slow_manila_bench: %d concurrent attaches, Manila latency %d ms, "
      "%u cores\n",
      attaches, latency_ms, std::thread::hardware_concurrency());
  std::vector<int> statuses(attaches);
  std::vector<std::thread> threads;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < attaches; ++i) {
    threads.emplace_back([&, i] {
      HttpClientRequest req;
      req.method = "POST";
      req.url = stack.api_url() + "/v2.1/servers/" + servers[i] + "/shares";
      req.headers = {{"X-Auth-Token", "alice:demo"},
                     {"OpenStack-API-Version", "compute 2.97"},
                     {"Content-Type", "application/json"}};
      req.body = json{{"share", {{"share_id", shares[i]}}}}.dump();
      req.timeout = std::chrono::seconds(120);
      auto resp = HttpFetch(req);
      statuses[i] = resp.ok() ? resp->status : -1;
    });
  }
  // Let every attach reach its Manila call before measuring. Kept sleep:
  // neither the API nor the emulator shows how many calls are under way,
  // and the attaches stay in the emulator for latency_ms, well past it.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int port = std::stoi(stack.api_url().substr(17));
  struct Probe {
    const char* name;
    std::string request;
  };
  const std::vector<Probe> probes = {
      {"GET /v2.1/", "GET /v2.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
      {"GET /v2.1/servers/detail",
       "GET /v2.1/servers/detail HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       "X-Auth-Token: alice:demo\r\n\r\n"},
  };
  for (const Probe& p : probes) {
    bench::LoadResult r = bench::RunLoad(
        port, 4, seconds, [&](long) { return p.request; }, /*rate=*/200);
    std::printf(
        "%-26s %6zu requests at 200/s  p50 %7.2f ms  p99 %7.2f ms  "
        "max %7.2f ms  non-2xx %d\n",
        p.name, r.latencies_ms.size(), r.Percentile(0.5), r.Percentile(0.99),
        r.latencies_ms.empty() ? 0.0 : r.latencies_ms.back(), r.non_2xx);
  }
  for (auto& t : threads) t.join();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  int created = 0;
  for (int s : statuses) created += s == 201;
  std::printf("attaches: %d of %d answered 201 in %.1f s\n", created, attaches,
              took);
  return created == attaches ? 0 : 1;
}
