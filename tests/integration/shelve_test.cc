// Shelve, shelve offload and unshelve of servers with shares (BEYOND.md
// section 4, where Nova answers 409): offloading releases the host's mounts
// and rule (when unused) and frees the host, the mappings stay inactive and
// may change; unshelving schedules anew and grants there. A conductor
// killed at each step still finishes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "tests/integration/two_hosts.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

HttpResponse Act(Stack& stack, const std::string& server,
                 const std::string& body,
                 const std::string& token = "alice:demo") {
  return stack.Api("POST", "/v2.1/servers/" + server + "/action", body, token);
}

// Shelve's stack: two hosts.
using ShelveStack = TwoHostStack;

}  // namespace

TEST_CASE("a server with shares shelves off its host and unshelves anew",
          "[integration][e2e]") {
  const std::string exchange = UniqueName("shelve-nova");
  ShelveStack s("[notifications]\nexchange = " + exchange + "\n");
  NotificationListener listener(exchange);
  Stack& stack = s.stack;
  const auto running = s.WithShare();
  const std::string server = running.first, share = running.second;
  const std::string first = Shown(stack, server)["OS-EXT-SRV-ATTR:host"];
  REQUIRE(stack.ManilaRules(share).size() == 1);

  HttpResponse shelve = Act(stack, server, R"({"shelve": null})");
  REQUIRE(shelve.status == 202);
  REQUIRE(Settles(stack, server, "SHELVED_OFFLOADED"));
  CHECK(Shown(stack, server)["OS-EXT-SRV-ATTR:host"].is_null());
  CHECK(stack.ShareStatus(server, share) == "inactive");
  // Nothing of it left on its host, in Manila or in the mounts.
  CHECK(s.Domain(first, server) == "absent");
  CHECK(stack.MountPoints(first).empty());
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));

  // Offloaded, it still takes and loses shares (nothing granted).
  const std::string later = stack.CreateShare();
  REQUIRE(
      stack
          .Api("POST", "/v2.1/servers/" + server + "/shares", AttachBody(later))
          .status == 201);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, later) == "inactive"; }));
  CHECK(stack.ManilaRules(later).empty());

  HttpResponse unshelve = Act(stack, server, R"({"unshelve": null})");
  REQUIRE(unshelve.status == 202);
  REQUIRE(Settles(stack, server, "ACTIVE"));
  const std::string now = Shown(stack, server)["OS-EXT-SRV-ATTR:host"];
  CHECK(stack.ShareStatus(server, share) == "active");
  CHECK(stack.ShareStatus(server, later) == "active");
  // Granted on the host it landed on, mounted and running there.
  for (const std::string& id : {share, later}) {
    json rules = stack.ManilaRules(id);
    REQUIRE(rules.size() == 1);
    CHECK(rules[0]["access_to"] == StorageIp(now));
    CHECK(rules[0]["state"] == "active");
  }
  CHECK(s.Domain(now, server) != "absent");
  CHECK(stack.MountPoints(now).size() == 2);

  for (const auto& [r, event] :
       {std::pair{shelve, "compute_shelve_instance"},
        std::pair{unshelve, "compute_unshelve_instance"}}) {
    json action = json::parse(
        stack
            .Api("GET", "/v2.1/servers/" + server + "/os-instance-actions/" +
                            r.Header("x-openstack-request-id"))
            .body)["instanceAction"];
    REQUIRE(action["events"].size() == 1);
    CHECK(action["events"][0]["event"] == event);
    CHECK(action["events"][0]["result"] == "Success");
  }
  const std::vector<std::string> expected = {
      "instance.shelve.start",         "instance.shelve.end",
      "instance.shelve_offload.start", "instance.shelve_offload.end",
      "instance.unshelve.start",       "instance.unshelve.end"};
  CHECK(listener.AwaitEventTypes("shelve", expected.size()) == expected);
}

TEST_CASE("shelved_offload_time = -1 keeps a shelved server on its host",
          "[integration]") {
  ShelveStack s("[DEFAULT]\nshelved_offload_time = -1\n");
  Stack& stack = s.stack;
  const auto running = s.WithShare();
  const std::string server = running.first, share = running.second;
  const std::string host = Shown(stack, server)["OS-EXT-SRV-ATTR:host"];
  REQUIRE(Act(stack, server, R"({"shelve": null})").status == 202);
  REQUIRE(Settles(stack, server, "SHELVED"));
  CHECK(Shown(stack, server)["OS-EXT-SRV-ATTR:host"] == host);
  CHECK(stack.ShareStatus(server, share) == "inactive");
  CHECK(stack.ManilaRules(share).size() == 1);  // kept with the host
  CHECK(stack.MountPoints(host).empty());       // powered off

  // Nova's states and policies: a member may not offload.
  HttpResponse again = Act(stack, server, R"({"shelve": null})");
  CHECK(again.status == 409);
  CHECK_THAT(again.body, Catch::Contains("while it is in vm_state shelved"));
  CHECK(Act(stack, server, R"({"shelveOffload": null})").status == 403);
  REQUIRE(
      Act(stack, server, R"({"shelveOffload": null})", "admin:admin").status ==
      202);
  REQUIRE(Settles(stack, server, "SHELVED_OFFLOADED"));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  REQUIRE(Act(stack, server, R"({"unshelve": null})").status == 202);
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(stack.ShareStatus(server, share) == "active");
  HttpResponse active = Act(stack, server, R"({"unshelve": null})");
  CHECK(active.status == 409);
  CHECK_THAT(active.body,
             Catch::Contains("Cannot 'unshelve' instance " + server +
                             " while it is in vm_state active"));
}

TEST_CASE("a conductor killed at each step of shelve and unshelve",
          "[integration]") {
  ShelveStack s;
  Stack& stack = s.stack;
  const auto running = s.WithShare();
  const std::string server = running.first, share = running.second;
  auto crash_at = [&](const std::string& point, const std::string& body,
                      const std::string& then) {
    INFO("crash point " << point);
    stack.StopConductor();
    stack.StartConductor(point);
    // Once (ASan, CI, 2026-12-01) the first request right after the
    // restart was a 409 whose reason the run did not keep: asked again
    // while it is, each answer shown.
    HttpResponse accepted;
    REQUIRE(WaitUntil([&] {
      accepted = Act(stack, server, body);
      if (accepted.status == 409) UNSCOPED_INFO(accepted.body);
      return accepted.status != 409;
    }));
    INFO(accepted.body);
    REQUIRE(accepted.status == 202);
    REQUIRE(WaitUntil([&] { return !stack.ConductorRunning(); }));
    REQUIRE(absl::StrContains(stack.ConductorLog(),
                              "Crash point " + point + " reached"));
    stack.StartConductor();
    REQUIRE(Settles(stack, server, then));
  };
  const std::vector<std::pair<std::string, std::string>> points = {
      {"shelve.notified", "unshelve.notified"},
      {"shelve.powered_off", "unshelve.granted"},
      {"shelve_offload.share_released", "unshelve.agent_called"},
      {"shelve_offload.undefined", "unshelve.agent_called"}};
  for (const auto& [shelve_point, unshelve_point] : points) {
    crash_at(shelve_point, R"({"shelve": null})", "SHELVED_OFFLOADED");
    REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
    CHECK(stack.ShareStatus(server, share) == "inactive");
    CHECK(stack.MountPoints("hv1").empty());
    CHECK(stack.MountPoints("hv2").empty());
    crash_at(unshelve_point, R"({"unshelve": null})", "ACTIVE");
    CHECK(stack.ShareStatus(server, share) == "active");
    const std::string host = Shown(stack, server)["OS-EXT-SRV-ATTR:host"];
    json rules = stack.ManilaRules(share);
    REQUIRE(rules.size() == 1);
    CHECK(rules[0]["access_to"] == StorageIp(host));
    CHECK(stack.MountPoints(host).size() == 1);
  }
}
