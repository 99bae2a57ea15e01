// Conductor workflows against the Manila emulator: rule sharing between
// mappings (NFS per host, CephFS per deployment), the lock side effects
// seen through /v2/resource-locks, Manila's errors, and the status
// transitions of spec/SHARES.md section 2 that the happy paths do not reach.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

struct Fixture {
  Stack stack;
  explicit Fixture(const std::string& config = "") : stack(config) {
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartApi();
  }
  void Attach(const std::string& server, const std::string& share) {
    REQUIRE(stack
                .Api("POST", "/v2.1/servers/" + server + "/shares",
                     json{{"share", {{"share_id", share}}}}.dump())
                .status == 201);
  }
  void Detach(const std::string& server, const std::string& share) {
    REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + server + "/shares/" + share)
                .status == 200);
  }
  bool WaitStatus(const std::string& server, const std::string& share,
                  const std::string& status) {
    return WaitUntil(
        [&] { return stack.ShareStatus(server, share) == status; });
  }
  // access_to of the share's rules that are not being revoked, sorted.
  std::vector<std::string> Grants(const std::string& share) {
    std::vector<std::string> out;
    for (const json& r : stack.ManilaRules(share)) {
      if (r["state"] == "queued_to_deny" || r["state"] == "denying") continue;
      out.push_back(r["access_to"]);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  void InjectFaults(const json& faults) {
    REQUIRE(Http("POST", stack.manila_url() + "/_emulator/faults",
                 {{"X-Auth-Token", "admin:admin"}}, faults.dump())
                .status == 204);
  }
  // The failed event's details of the server's last action.
  std::string LastError(const std::string& server) {
    std::string details;
    (void)stack.db().Transact([&](pqxx::work& w) {
      pqxx::result r = w.exec_params(
          "SELECT e.details FROM instance_actions a JOIN "
          "instance_action_events e ON e.action_id = a.id WHERE "
          "a.server_uuid = $1 AND e.result = 'Error' ORDER BY e.id DESC "
          "LIMIT 1",
          server);
      if (!r.empty()) details = r[0][0].as<std::string>();
      return absl::OkStatus();
    });
    return details;
  }
};

}  // namespace

TEST_CASE("an NFS rule is per host and goes with the host's last mapping",
          "[integration][workflow]") {
  Fixture f;
  const std::string share = f.stack.CreateShare("NFS");
  const std::string a1 = f.stack.CreateServer("hv1");
  const std::string a2 = f.stack.CreateServer("hv1");
  const std::string b1 = f.stack.CreateServer("hv2");
  for (const auto& s : {a1, a2, b1}) f.Attach(s, share);
  for (const auto& s : {a1, a2, b1})
    REQUIRE(f.WaitStatus(s, share, "inactive"));
  // One rule per host, each with its two locks; one delete lock on the
  // share per rule.
  CHECK(f.Grants(share) ==
        std::vector<std::string>{"192.0.2.20", "192.0.2.21"});
  for (const json& r : f.stack.ManilaRules(share)) {
    CHECK(f.stack.ManilaLocks(r["id"]).size() == 2);
  }
  CHECK(f.stack.ManilaLocks(share).size() == 2);

  // The first hv1 mapping goes: hv1 keeps its rule for the second one.
  f.Detach(a1, share);
  REQUIRE(f.WaitStatus(a1, share, ""));
  CHECK(f.Grants(share) ==
        std::vector<std::string>{"192.0.2.20", "192.0.2.21"});
  // The last hv1 mapping goes: so does hv1's rule and its locks.
  f.Detach(a2, share);
  REQUIRE(f.WaitStatus(a2, share, ""));
  CHECK(f.Grants(share) == std::vector<std::string>{"192.0.2.21"});
  CHECK(f.stack.ManilaLocks(share).size() == 1);
  // Manila refuses to delete the share while hv2 still has it.
  CHECK(f.stack.ManilaAdmin("DELETE", "/shares/" + share).status == 403);
  f.Detach(b1, share);
  REQUIRE(f.WaitStatus(b1, share, ""));
  CHECK(f.Grants(share).empty());
  CHECK(f.stack.ManilaLocks(share).empty());
  CHECK(WaitUntil([&] {
    return f.stack.ManilaAdmin("DELETE", "/shares/" + share).status == 202;
  }));
}

TEST_CASE("a CephFS rule is shared by every host and goes with the last",
          "[integration][workflow]") {
  Fixture f("[manila]\ncephx_id = shareplane\n");
  const std::string share = f.stack.CreateShare("CEPHFS");
  const std::string a = f.stack.CreateServer("hv1");
  const std::string b = f.stack.CreateServer("hv2");
  f.Attach(a, share);
  f.Attach(b, share);
  REQUIRE(f.WaitStatus(a, share, "inactive"));
  REQUIRE(f.WaitStatus(b, share, "inactive"));
  json rules = f.stack.ManilaRules(share);
  REQUIRE(rules.size() == 1);
  CHECK(rules[0]["access_type"] == "cephx");
  CHECK(rules[0]["access_to"] == "shareplane");
  CHECK(rules[0]["access_key"].is_string());
  f.Detach(a, share);
  REQUIRE(f.WaitStatus(a, share, ""));
  CHECK(f.Grants(share) == std::vector<std::string>{"shareplane"});
  f.Detach(b, share);
  REQUIRE(f.WaitStatus(b, share, ""));
  CHECK(f.Grants(share).empty());
  CHECK(f.stack.ManilaLocks(share).empty());
}

TEST_CASE("Manila errors end workflows in error with the reason",
          "[integration][workflow]") {
  Fixture f(
      "[manila]\naccess_rule_timeout = 2\nretry_attempts = 2\ntimeout = 1\n");

  SECTION("a share deleted in Manila before the grant: not found") {
    const std::string share = f.stack.CreateShare();
    const std::string server = f.stack.CreateServer();
    f.stack.StopConductor();
    f.Attach(server, share);
    REQUIRE(f.stack.ManilaAdmin("DELETE", "/shares/" + share).status == 202);
    f.stack.StartConductor();
    REQUIRE(f.WaitStatus(server, share, "error"));
    CHECK(f.LastError(server).find("not found") != std::string::npos);
  }
  SECTION("Manila slower than [manila] timeout: timed out") {
    const std::string share = f.stack.CreateShare();
    const std::string server = f.stack.CreateServer();
    f.stack.StopConductor();
    f.Attach(server, share);
    f.InjectFaults({{"latency_ms", 1500}});
    f.stack.StartConductor();
    REQUIRE(
        WaitUntil([&] { return f.stack.ShareStatus(server, share) == "error"; },
                  std::chrono::seconds(40)));
    f.InjectFaults({{"latency_ms", 0}});
    CHECK(f.LastError(server).find("imed out") != std::string::npos);
  }
  SECTION("a revoke Manila refuses (403, 500) leaves the mapping in error") {
    for (int status : {403, 500}) {
      INFO("Manila answers " << status);
      const std::string share = f.stack.CreateShare();
      const std::string server = f.stack.CreateServer();
      f.Attach(server, share);
      REQUIRE(f.WaitStatus(server, share, "inactive"));
      f.stack.StopConductor();
      f.Detach(server, share);
      CHECK(f.stack.ShareStatus(server, share) == "detaching");
      f.InjectFaults({{"fail_next", 20}, {"fail_status", status}});
      f.stack.StartConductor();
      REQUIRE(f.WaitStatus(server, share, "error"));
      CHECK(f.LastError(server).find("answered " + std::to_string(status)) !=
            std::string::npos);
      // The rule and its locks are still there: nothing was half-removed.
      f.InjectFaults({{"fail_next", 0}});
      CHECK(f.Grants(share).size() == 1);
      CHECK(f.stack.ManilaLocks(share).size() == 1);
      // Detaching again once Manila agrees finishes the job.
      f.Detach(server, share);
      REQUIRE(f.WaitStatus(server, share, ""));
      CHECK(WaitUntil([&] { return f.Grants(share).empty(); }));
    }
  }
}

TEST_CASE("a share in error comes back with a hard reboot",
          "[integration][workflow]") {
  Fixture f("[manila]\naccess_rule_timeout = 2\n");
  f.stack.StartCompute();
  const std::string share = f.stack.CreateShare();
  const std::string server = f.stack.CreateServer("hv1");
  const std::string base = "/v2.1/servers/" + server;
  f.Attach(server, share);
  REQUIRE(f.WaitStatus(server, share, "inactive"));
  REQUIRE(
      f.stack.Api("POST", base + "/action", R"({"os-start": null})").status ==
      202);
  REQUIRE(f.WaitStatus(server, share, "active"));
  // The mapping breaks (as a failed remount would leave it) ...
  REQUIRE(f.stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec_params(
                    "UPDATE share_mappings SET status = 'error' WHERE "
                    "share_id = $1",
                    share);
                return absl::OkStatus();
              })
              .ok());
  // ... a soft reboot leaves it alone, a hard reboot remounts it.
  REQUIRE(
      f.stack.Api("POST", base + "/action", R"({"reboot": {"type": "SOFT"}})")
          .status == 202);
  REQUIRE(WaitUntil([&] {
    return json::parse(
               f.stack.Api("GET", base).body)["server"]["OS-EXT-STS:task_state"]
        .is_null();
  }));
  CHECK(f.stack.ShareStatus(server, share) == "error");
  REQUIRE(
      f.stack.Api("POST", base + "/action", R"({"reboot": {"type": "HARD"}})")
          .status == 202);
  REQUIRE(f.WaitStatus(server, share, "active"));
  CHECK(f.stack.MountPoints().size() == 1);
}

TEST_CASE("the reconciler reports locked rules no attachment uses",
          "[integration][workflow]") {
  Fixture f("[conductor]\nreconcile_interval = 1\norphan_rule_age = 0\n");
  const std::string kept = f.stack.CreateShare();
  const std::string lost = f.stack.CreateShare();
  const std::string detached = f.stack.CreateShare();
  const std::string server = f.stack.CreateServer("hv1");
  for (const auto& share : {kept, lost, detached}) f.Attach(server, share);
  for (const auto& share : {kept, lost, detached}) {
    REQUIRE(f.WaitStatus(server, share, "inactive"));
  }
  // A detach done properly leaves nothing to account for.
  f.Detach(server, detached);
  REQUIRE(f.WaitStatus(server, detached, ""));
  auto grants = [&] {
    int n = -1;
    (void)f.stack.db().Transact([&](pqxx::work& w) {
      n = w.exec("SELECT count(*) FROM access_grants")[0][0].as<int>();
      return absl::OkStatus();
    });
    return n;
  };
  CHECK(grants() == 2);
  // A mapping lost behind Manila's back (deleted by hand).
  REQUIRE(f.stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec_params("DELETE FROM share_mappings WHERE share_id = $1",
                              lost);
                return absl::OkStatus();
              })
              .ok());
  const std::string lost_rule = f.stack.ManilaRules(lost)[0]["id"];
  const std::string kept_rule = f.stack.ManilaRules(kept)[0]["id"];
  if (!WaitUntil([&] {
        return f.stack.ConductorLog().find("Manila access rule " + lost_rule) !=
               std::string::npos;
      })) {
    FAIL("the conductor never reported Manila access rule " << lost_rule);
  }
  CHECK(f.stack.ConductorLog().find(
            "on share " + lost +
            " carries Shareplane's lock but no attachment uses it") !=
        std::string::npos);
  // The rule still in use is not reported.
  CHECK(f.stack.ConductorLog().find("Manila access rule " + kept_rule) ==
        std::string::npos);
  // Once the rule is revoked in Manila, it is forgotten.
  REQUIRE(f.stack
              .ManilaAdmin("POST", "/shares/" + lost + "/action",
                           R"({"deny_access": {"access_id": ")" + lost_rule +
                               R"(", "unrestrict": true}})")
              .status == 202);
  CHECK(WaitUntil([&] { return grants() == 1; }));
}

TEST_CASE("a start whose share lost its Manila access ends in error",
          "[integration][workflow]") {
  Fixture f;
  f.stack.StartCompute();
  const std::string share = f.stack.CreateShare("CEPHFS");
  const std::string server = f.stack.CreateServer("hv1");
  const std::string base = "/v2.1/servers/" + server;
  f.Attach(server, share);
  REQUIRE(f.WaitStatus(server, share, "inactive"));
  // Someone revokes the cephx rule in Manila behind Shareplane's back.
  const std::string rule = f.stack.ManilaRules(share)[0]["id"];
  REQUIRE(f.stack
              .ManilaAdmin("POST", "/shares/" + share + "/action",
                           R"({"deny_access": {"access_id": ")" + rule +
                               R"(", "unrestrict": true}})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return f.stack.ManilaRules(share).empty(); }));
  REQUIRE(
      f.stack.Api("POST", base + "/action", R"({"os-start": null})").status ==
      202);
  REQUIRE(f.WaitStatus(server, share, "error"));
  json s = json::parse(f.stack.Api("GET", base).body)["server"];
  CHECK(s["status"] == "ERROR");
  CHECK(f.LastError(server).find("No active cephx access") !=
        std::string::npos);
  CHECK(f.stack.MountPoints().empty());
}
