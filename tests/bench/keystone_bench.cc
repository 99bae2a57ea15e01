// What Keystone mode costs the compute API: the same cheap route (GET
// /v2.1/flavors/detail, one flavor) under noauth2, under Keystone with the
// token cache (one validation, then SHA-256 + a map lookup per request),
// and under Keystone with token_cache_time = 0 (a round trip to Keystone
// per request). Starts PostgreSQL, RabbitMQ and a Keystone unless
// $SHAREPLANE_TEST_ENV names running ones.
//
//   keystone_bench [seconds=3]
#include <cstdio>
#include <thread>

#include "tests/bench/load.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 3;
  ScopedServices services(/*keystone=*/true);
  const std::string keystone_api = KeystoneServiceConfig("keystone_authtoken");
  struct Mode {
    const char* name;
    std::string config;
    bool keystone;
  };
  const std::vector<Mode> modes = {
      {"noauth2", "", false},
      {"keystone, cached", "[api]\nauth_strategy = keystone\n" + keystone_api,
       true},
      {"keystone, no cache",
       "[api]\nauth_strategy = keystone\n" + keystone_api +
           "token_cache_time = 0\n",
       true},
  };
  std::printf(
      "keystone_bench: GET /v2.1/flavors/detail, %d s per run, %u cores\n",
      seconds, std::thread::hardware_concurrency());
  int failures = 0;
  for (const Mode& m : modes) {
    Stack stack("[DEFAULT]\ndebug = false\n" + m.config);
    stack.StartApi();
    (void)stack.db().Transact([&](pqxx::work& w) {
      InsertFlavor(w, TestFlavor("m1.small"));
      return absl::OkStatus();
    });
    const std::string token =
        m.keystone ? KeystoneToken("alice", "demo") : "alice:demo";
    const int port = std::stoi(stack.api_url().substr(17));
    for (int conns : {1, 16}) {
      const double cpu0 = stack.CpuSeconds("api");
      bench::LoadResult r = bench::RunLoad(port, conns, seconds, [&](long) {
        return "GET /v2.1/flavors/detail HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "X-Auth-Token: " +
               token + "\r\n\r\n";
      });
      const double cpu = stack.CpuSeconds("api") - cpu0;
      std::printf(
          "%-20s conns %3d  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  "
          "api cpu %5.3f ms/req  errors %d\n",
          m.name, conns, r.Rate(), r.Percentile(0.5), r.Percentile(0.99),
          1000 * cpu / std::max<size_t>(1, r.latencies_ms.size()), r.non_2xx);
      failures += r.non_2xx;
    }
  }
  return failures == 0 ? 0 : 1;
}
