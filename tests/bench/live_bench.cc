// Live attach/detach benchmark: the real daemons with the agent on its
// libvirt twin (no guest: what is measured is the control plane, the
// Manila rule and the agent's hot-plug calls). `servers` running servers
// each get a share attached while they run, then detached; `clients` at a
// time. Prints, per phase, the time from the request to the state the user
// waits for (active, gone) and the throughput.
//
//   build/tests/bench/live_bench [servers=50] [clients=8]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/bench/latencies.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using Steady = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int servers = argc > 1 ? std::atoi(argv[1]) : 50;
  const int clients = argc > 2 ? std::atoi(argv[2]) : 8;
  ScopedServices services;
  int failures = 0;
  {
    const std::string twin = NewTempDir("live-bench-twin");
    Stack stack("[compute]\nhypervisor_driver = twin\nhypervisor_twin_dir = " +
                twin + "\n");
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartCompute();
    stack.StartApi();
    std::vector<std::pair<std::string, std::string>> pairs;
    for (int i = 0; i < servers; ++i) {
      pairs.emplace_back(stack.BootServer(), stack.CreateShare());
    }
    std::printf("live_bench: %d running servers, %d clients, %d cores\n",
                servers, clients,
                static_cast<int>(std::thread::hardware_concurrency()));
    auto reaches = [&](int i, const std::string& status) {
      return WaitUntil(
          [&] {
            return stack.ShareStatus(pairs[i].first, pairs[i].second) == status;
          },
          std::chrono::seconds(120));
    };
    Latencies attach, detach;
    failures +=
        Phase("live attach (to active)", servers, clients, attach, [&](int i) {
          HttpResponse r = stack.Api(
              "POST", "/v2.1/servers/" + pairs[i].first + "/shares",
              nlohmann::json{{"share", {{"share_id", pairs[i].second}}}}
                  .dump());
          return r.status == 201 && reaches(i, "active");
        });
    failures +=
        Phase("live detach (to gone)", servers, clients, detach, [&](int i) {
          HttpResponse r =
              stack.Api("DELETE", "/v2.1/servers/" + pairs[i].first +
                                      "/shares/" + pairs[i].second);
          return r.status == 200 && reaches(i, "");
        });
    std::printf("%-26s api %ld KiB, conductor %ld KiB, compute %ld KiB\n",
                "RSS after the run", stack.RssKiB("api"),
                stack.RssKiB("conductor"), stack.RssKiB("compute"));
  }
  return failures == 0 ? 0 : 1;
}
