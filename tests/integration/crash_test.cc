// Crash safety: the conductor is killed (SIGKILL, through a crash point) at
// every step of attach, detach, start and delete in turn, then started
// again. Every mapping must reach its right final state with no leaked
// access rule, resource lock or mount, and every notification must be sent
// exactly once.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

class CrashScenario {
 public:
  CrashScenario()
      : exchange_(UniqueName("crash-nova")),
        stack_("[notifications]\nexchange = " + exchange_ + "\n"),
        listener_(exchange_) {
    stack_.StartEmulator();
    stack_.StartConductor();
    stack_.StartCompute();
    stack_.StartApi();
    server_ = stack_.CreateServer("hv1");
    share_ = stack_.CreateShare();
  }

  Stack& stack() { return stack_; }
  const std::string& server() const { return server_; }
  const std::string& share() const { return share_; }
  std::string base() const { return "/v2.1/servers/" + server_; }

  void Attach() {
    HttpResponse r = stack_.Api("POST", base() + "/shares",
                                json{{"share", {{"share_id", share_}}}}.dump());
    if (r.status != 201) FAIL(r.status << " " << r.body);
  }
  void WaitShare(const std::string& status) {
    REQUIRE(WaitUntil(
        [&] { return stack_.ShareStatus(server_, share_) == status; }));
  }
  void Action(const std::string& body) {
    REQUIRE(stack_.Api("POST", base() + "/action", body).status == 202);
  }

  // Restarts the conductor armed to die at `point`, runs `request`, waits
  // for the crash, and starts a healthy conductor.
  void CrashAt(const std::string& point, const std::function<void()>& request) {
    stack_.StopConductor();
    stack_.StartConductor(point);
    request();
    INFO("crash point " << point);
    REQUIRE(WaitUntil([&] { return !stack_.ConductorRunning(); }));
    // It died where it was meant to, not elsewhere.
    REQUIRE(stack_.ConductorLog().find("Crash point " + point + " reached") !=
            std::string::npos);
    stack_.StartConductor();
  }

  // Exactly one of each event in effect, once the last one expected has
  // arrived. A relay killed between publishing an outbox row and marking it
  // sent publishes it again: the copy has the same message_id, which is how
  // oslo.messaging consumers drop duplicates, so copies count once.
  void ExpectNotifiedOnce(const std::vector<std::string>& events) {
    auto count = [&](const std::string& e) {
      std::set<std::string> ids;
      for (const json& m : listener_.Messages()) {
        if (m["event_type"] == e) ids.insert(m["message_id"]);
      }
      return ids.size();
    };
    if (!WaitUntil([&] { return count(events.back()) >= 1; })) {
      FAIL("no " << events.back() << " among "
                 << json(listener_.EventTypes()).dump());
    }
    // Kept sleep: a second run of the workflow (its task delivered again
    // after the crash) would notify again, later, and no state marks when;
    // that it does not is watched for about the time a run takes.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // What was written by then, and the copies a relay killed before marking
    // its rows sent publishes again, have all arrived once no outbox row
    // waits unsent and a probe published after them has arrived.
    REQUIRE(WaitUntil([&] { return UnsentOutboxRows() == 0; }));
    REQUIRE(listener_.Sync());
    INFO(json(listener_.EventTypes()).dump());
    for (const std::string& e : events) {
      INFO(e);
      CHECK(count(e) == 1);
    }
  }

  // Outbox rows no relay has marked sent yet (-1 when unknown).
  int UnsentOutboxRows() {
    int n = -1;
    (void)stack_.db().Transact([&](pqxx::work& w) {
      n = w.exec1("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0]
              .as<int>();
      return absl::OkStatus();
    });
    return n;
  }

  // The share carries one active locked rule for host hv1.
  void ExpectOneLockedRule() {
    json rules = stack_.ManilaRules(share_);
    REQUIRE(rules.size() == 1);
    CHECK(rules[0]["access_to"] == "192.0.2.10");
    CHECK(rules[0]["state"] == "active");
    CHECK(stack_.ManilaLocks(rules[0]["id"]).size() == 2);
    CHECK(stack_.ManilaLocks(share_).size() == 1);
  }

  // No rule, no lock, no mount left.
  void ExpectNothingLeft() {
    CHECK(WaitUntil([&] { return stack_.ManilaRules(share_).empty(); }));
    CHECK(stack_.ManilaLocks(share_).empty());
    CHECK(stack_.MountPoints().empty());
  }

 private:
  std::string exchange_;
  Stack stack_;
  NotificationListener listener_;
  std::string server_, share_;
};

}  // namespace

TEST_CASE("a conductor killed during attach leaves a finished attach",
          "[integration][crash]") {
  const std::string point =
      GENERATE("attach.notified", "attach.grant_requested",
               "attach.rule_active", "attach.recorded");
  CrashScenario s;
  s.CrashAt(point, [&] { s.Attach(); });
  s.WaitShare("inactive");
  s.ExpectOneLockedRule();
  s.ExpectNotifiedOnce(
      {"instance.share_attach.start", "instance.share_attach.end"});
}

TEST_CASE("a conductor killed during detach leaves nothing behind",
          "[integration][crash]") {
  const std::string point =
      GENERATE("detach.notified", "detach.revoke_requested", "detach.recorded");
  CrashScenario s;
  s.Attach();
  s.WaitShare("inactive");
  s.CrashAt(point, [&] {
    REQUIRE(s.stack().Api("DELETE", s.base() + "/shares/" + s.share()).status ==
            200);
  });
  s.WaitShare("");
  s.ExpectNothingLeft();
  s.ExpectNotifiedOnce(
      {"instance.share_detach.start", "instance.share_detach.end"});
}

TEST_CASE("a conductor killed during start leaves a running server",
          "[integration][crash]") {
  const std::string point = GENERATE(
      "power_on.notified", "power_on.agent_called", "power_on.recorded");
  CrashScenario s;
  s.Attach();
  s.WaitShare("inactive");
  s.CrashAt(point, [&] { s.Action(R"({"os-start": null})"); });
  s.WaitShare("active");
  CHECK(s.stack().MountPoints().size() == 1);
  s.ExpectNotifiedOnce({"instance.power_on.start", "instance.power_on.end"});
  // The repeated power-on took no second reference on the mount: stopping
  // releases it.
  s.Action(R"({"os-stop": null})");
  s.WaitShare("inactive");
  CHECK(s.stack().MountPoints().empty());
  s.ExpectOneLockedRule();
}

TEST_CASE("a conductor killed during delete leaves the server gone",
          "[integration][crash]") {
  const std::string point =
      GENERATE("delete.powered_off", "detach.revoke_requested",
               "delete.share_detached", "delete.undefined", "delete.recorded");
  CrashScenario s;
  s.Attach();
  s.WaitShare("inactive");
  s.Action(R"({"os-start": null})");
  s.WaitShare("active");
  s.CrashAt(point,
            [&] { REQUIRE(s.stack().Api("DELETE", s.base()).status == 204); });
  REQUIRE(
      WaitUntil([&] { return s.stack().Api("GET", s.base()).status == 404; }));
  s.ExpectNothingLeft();
  s.ExpectNotifiedOnce({"instance.delete.start", "instance.delete.end"});
}
