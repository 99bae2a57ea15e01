// A host's storage address is what Manila grants NFS access to: it cannot
// change under granted rules, and a revoke removes the rule that was
// granted, whatever the host's address is now.
#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "common/pg/store.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

std::string StorageIp(Stack& stack) {
  std::optional<ComputeHost> h;
  (void)stack.db().Transact([&](pqxx::work& w) {
    h = GetComputeHost(w, "hv1");
    return absl::OkStatus();
  });
  return h ? h->storage_ip : "";
}

}  // namespace

TEST_CASE("a host cannot change the address its granted rules are for",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string id = stack.BootServer(/*stopped=*/true);
  const std::string share = stack.CreateShare();
  stack.AttachShare(id, share);
  REQUIRE(stack.ManilaRules(share).size() == 1);
  CHECK(stack.ManilaRules(share)[0]["access_to"] == "192.0.2.10");

  // The agent comes back claiming another address: refused, and the host
  // keeps the one its rule is for.
  stack.StopCompute();
  stack.SetExtraConfig("[compute]\nstorage_ip = 192.0.2.77\n");
  stack.StartCompute();
  REQUIRE(WaitUntil([&] {
    return stack.Logs().find(
               "The conductor refused this host: Host hv1 is "
               "registered with storage address 192.0.2.10") !=
           std::string::npos;
  }));
  CHECK(StorageIp(stack) == "192.0.2.10");

  // Had the address changed anyway (by hand in the database), the detach
  // still revokes the rule that was granted, by its recorded id.
  stack.StopCompute();
  stack.SetExtraConfig("");
  stack.StartCompute();
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec(
                    "UPDATE compute_hosts SET storage_ip = '192.0.2.78' "
                    "WHERE hostname = 'hv1'");
                return absl::OkStatus();
              })
              .ok());
  REQUIRE(
      stack.Api("DELETE", "/v2.1/servers/" + id + "/shares/" + share).status ==
      200);
  REQUIRE(WaitUntil([&] { return stack.ShareStatus(id, share).empty(); }));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  CHECK(stack.ManilaLocks(share).empty());

  // With nothing granted to it any more, the address may change.
  stack.StopCompute();
  stack.SetExtraConfig("[compute]\nstorage_ip = 192.0.2.77\n");
  stack.StartCompute();
  REQUIRE(WaitUntil([&] { return StorageIp(stack) == "192.0.2.77"; }));
}

TEST_CASE("host set-ip moves every rule to the new address with no gap",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator(/*apply_delay_ms=*/300);
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  // Two NFS shares on one running server, and one on a stopped one.
  const std::string running = stack.BootServer(/*stopped=*/true);
  const std::string stopped = stack.BootServer(/*stopped=*/true);
  const std::vector<std::string> shares = {stack.CreateShare(),
                                           stack.CreateShare()};
  stack.AttachShare(running, shares[0]);
  stack.AttachShare(running, shares[1]);
  stack.AttachShare(stopped, shares[1]);
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + running + "/action",
                   R"({"os-start": null})")
              .status == 202);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(running, shares[0]) == "active"; }));

  // While the move runs, each share always has an active rule for the host.
  std::atomic<bool> done{false};
  std::atomic<int> gaps{0}, samples{0};
  std::thread watcher([&] {
    while (!done) {
      for (const auto& share : shares) {
        int active = 0;
        for (const auto& r : stack.ManilaRules(share)) {
          if (r["state"] == "active") ++active;
        }
        if (active == 0) ++gaps;
      }
      ++samples;
      // Kept sleep: the sampling period. A gap is a state that may last
      // a moment at any time, so the watcher samples throughout, paced
      // not to flood the emulator; no condition ends it but the move's.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  CommandResult r = RunCommand(
      "manage", {BinaryPath("cli/shareplane-manage"), "--config-file",
                 stack.config_path(), "host", "set-ip", "hv1", "192.0.2.77"});
  done = true;
  watcher.join();
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(absl::StrContains(r.out, "2 access rules moved from 192.0.2.10"));
  CHECK(gaps == 0);
  CHECK(samples > 5);

  CHECK(StorageIp(stack) == "192.0.2.77");
  for (const auto& share : shares) {
    // Manila removes the revoked rule in its own time.
    REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).size() == 1; }));
    const json rules = stack.ManilaRules(share);
    CHECK(rules[0]["access_to"] == "192.0.2.77");
    CHECK(rules[0]["state"] == "active");
  }
  // The mappings record the new rule; the grants are the new address's.
  (void)stack.db().Transact([&](pqxx::work& w) {
    CHECK(w.exec1("SELECT count(*) FROM share_mappings m JOIN access_grants g "
                  "ON g.share_id = m.share_id WHERE g.access_to <> "
                  "'192.0.2.77'")[0]
              .as<int>() == 0);
    return absl::OkStatus();
  });
  // Run again: nothing left to move.
  r = RunCommand("manage",
                 {BinaryPath("cli/shareplane-manage"), "--config-file",
                  stack.config_path(), "host", "set-ip", "hv1", "192.0.2.77"});
  CHECK(r.exit_code == 0);
  CHECK(absl::StrContains(r.out, "0 access rules moved"));
  // An unknown host and a bad address are refused.
  CHECK(RunCommand("manage",
                   {BinaryPath("cli/shareplane-manage"), "--config-file",
                    stack.config_path(), "host", "set-ip", "hv9", "192.0.2.78"})
            .exit_code == 1);
  CHECK(RunCommand("manage",
                   {BinaryPath("cli/shareplane-manage"), "--config-file",
                    stack.config_path(), "host", "set-ip", "hv1", "not-an-ip"})
            .exit_code == 1);

  // The agent follows with its new address; detaching revokes the moved
  // rules: nothing is left behind in Manila.
  stack.StopCompute();
  stack.SetExtraConfig("[compute]\nstorage_ip = 192.0.2.77\n");
  stack.StartCompute();
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + running + "/action",
                   R"({"os-stop": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return stack.ServerStatus(running) == "SHUTOFF"; }));
  for (const auto& pair : std::vector<std::pair<std::string, std::string>>{
           {running, shares[0]}, {running, shares[1]}, {stopped, shares[1]}}) {
    // (not a structured binding: clang cannot capture those)
    const std::string& server = pair.first;
    const std::string& share = pair.second;
    REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + server + "/shares/" + share)
                .status == 200);
    REQUIRE(
        WaitUntil([&] { return stack.ShareStatus(server, share).empty(); }));
  }
  for (const auto& share : shares) {
    REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  }
}
