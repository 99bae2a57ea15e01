// Requests that race each other through the real API: placements onto one
// host and updates of one flavor's extra specs. Each used to read, decide
// and write without a lock.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "common/pg/store.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

TEST_CASE("concurrent creates never overcommit a host", "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  // One up host with room for exactly 4 servers of 1 GiB (ratio 1.0).
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                Flavor f = TestFlavor("m1.gig");
                f.ram_mb = 1024;
                f.vcpus = 1;
                InsertFlavor(w, f);
                ComputeHost h;
                h.hostname = "hv-small";
                h.storage_ip = "192.0.2.40";
                h.agent_endpoint = "127.0.0.1:1";
                h.memory_mb = 4096;
                h.vcpus = 64;
                UpsertComputeHost(w, h);
                w.exec(
                    "UPDATE compute_hosts SET last_heartbeat = now() "
                    "WHERE hostname = 'hv-small'");
                return absl::OkStatus();
              })
              .ok());
  constexpr int kCreates = 16;
  std::vector<int> statuses(kCreates);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCreates; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = StatusOf([&] {
        return stack.Api("POST", "/v2.1/servers",
                         json{{"server",
                               {{"name", "race-" + std::to_string(i)},
                                {"flavorRef", "m1.gig"},
                                {"networks", "none"}}}}
                             .dump());
      });
    });
  }
  for (auto& t : threads) t.join();
  for (int s : statuses) CHECK(s == 202);
  int placed = 0, unplaced = 0;
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                placed = w.exec1(
                              "SELECT count(*) FROM servers WHERE host = "
                              "'hv-small'")[0]
                             .as<int>();
                unplaced = w.exec1(
                                "SELECT count(*) FROM servers WHERE "
                                "vm_state = 'error' AND host IS NULL")[0]
                               .as<int>();
                return absl::OkStatus();
              })
              .ok());
  // ram_allocation_ratio 1.5 by default: 6 GiB of room on a 4 GiB host.
  CHECK(placed == 6);
  CHECK(unplaced == kCreates - 6);
}

TEST_CASE("concurrent extra-spec updates keep every key",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                InsertFlavor(w, TestFlavor("m1.specs"));
                return absl::OkStatus();
              })
              .ok());
  constexpr int kWriters = 24;
  std::vector<int> statuses(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      const std::string key = "k" + std::to_string(i);
      // Half set through the collection, half through the key's route.
      statuses[i] = StatusOf([&] {
        return i % 2 == 0
                   ? stack.Api("POST", "/v2.1/flavors/m1.specs/os-extra_specs",
                               json{{"extra_specs", {{key, "v"}}}}.dump(),
                               "admin:admin")
                   : stack.Api("PUT",
                               "/v2.1/flavors/m1.specs/os-extra_specs/" + key,
                               json{{key, "v"}}.dump(), "admin:admin");
      });
    });
  }
  for (auto& t : threads) t.join();
  for (int s : statuses) CHECK(s == 200);
  json specs =
      json::parse(stack.Api("GET", "/v2.1/flavors/m1.specs/os-extra_specs")
                      .body)["extra_specs"];
  CHECK(specs.size() == kWriters);
}
