// Deterministic races: the conductor is paused at a named step of one
// workflow (common/core/test_point.h) while the racing request is made, then
// let go. Each case is an interleaving that was reported against a running
// stack (issue 13); each asserts what the user sees once both settle.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

bool StatusIs(Stack& stack, const std::string& id, const std::string& status) {
  return stack.ServerStatus(id) == status;
}

// Events recorded for request `request_id` on `server` (read from the
// database: the server may be gone).
std::vector<std::pair<std::string, std::string>> Events(
    Stack& stack, const std::string& server, const std::string& request_id) {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status s = stack.db().Transact([&](pqxx::work& w) {
    for (const auto& row :
         w.exec_params("SELECT e.event, coalesce(e.result, '') FROM "
                       "instance_action_events e JOIN instance_actions a ON "
                       "a.id = e.action_id WHERE a.server_uuid = $1 AND "
                       "a.request_id = $2",
                       server, request_id)) {
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) throw std::runtime_error(std::string(s.message()));
  return out;
}

// A stack with one host, a SHUTOFF server made through the API with one
// share attached (inactive), and a conductor that will pause at `point`.
class Paused {
 public:
  explicit Paused(const std::string& point) : point_(point) {
    stack_.StartEmulator();
    stack_.StartConductor();
    stack_.StartCompute();
    stack_.StartApi();
    server_ = stack_.BootServer(/*stopped=*/true);
    attached_ = stack_.CreateShare();
    REQUIRE(
        stack_.Api("POST", base() + "/shares", AttachBody(attached_)).status ==
        201);
    REQUIRE(WaitUntil(
        [&] { return stack_.ShareStatus(server_, attached_) == "inactive"; }));
    stack_.StopConductor();
    stack_.StartConductor("", point_);
  }

  Stack& stack() { return stack_; }
  const std::string& server() const { return server_; }
  const std::string& attached() const { return attached_; }
  std::string base() const { return "/v2.1/servers/" + server_; }
  void Action(const std::string& body) {
    HttpResponse r = stack_.Api("POST", base() + "/action", body);
    INFO(r.body);
    REQUIRE(r.status == 202);
  }
  void WaitPaused() { REQUIRE(stack_.WaitPaused(point_)); }
  void Resume() { stack_.Resume(point_); }
  // Attaches `share` (201) and waits until the conductor is paused.
  HttpResponse AttachAndPause(const std::string& share) {
    HttpResponse a = stack_.Api("POST", base() + "/shares", AttachBody(share));
    REQUIRE(a.status == 201);
    WaitPaused();
    return a;
  }

 private:
  Stack stack_;
  std::string point_;
  std::string server_;
  std::string attached_;
};

}  // namespace

TEST_CASE("share requests while a start or hard reboot runs are 409",
          "[integration][e2e]") {
  for (const std::string action :
       {R"({"os-start": null})", R"({"reboot": {"type": "HARD"}})"}) {
    INFO(action);
    Paused p("power_on.notified");
    Stack& stack = p.stack();
    const std::string other = stack.CreateShare();
    // (A hard reboot of a stopped server starts it, as in Nova.)
    p.Action(action);
    p.WaitPaused();
    // The start has reached the conductor and is on its way to the host.
    HttpResponse r = stack.Api("POST", p.base() + "/shares", AttachBody(other));
    CHECK(r.status == 409);
    CHECK_THAT(r.body, Catch::Contains("while it is in task_state"));
    r = stack.Api("DELETE", p.base() + "/shares/" + p.attached());
    CHECK(r.status == 409);
    p.Resume();
    REQUIRE(WaitUntil([&] { return StatusIs(stack, p.server(), "ACTIVE"); }));
    // What the server shows is what the host runs: the attached share is
    // active and mounted, the refused one is nowhere.
    CHECK(stack.ShareStatus(p.server(), p.attached()) == "active");
    CHECK(stack.ShareStatus(p.server(), other).empty());
    CHECK(stack.MountPoints().size() == 1);
    CHECK(stack.ManilaRules(p.attached()).size() == 1);
    CHECK(stack.ManilaRules(other).empty());
  }
}

TEST_CASE("an attach while a delete runs is 409 and leaves nothing",
          "[integration][e2e]") {
  Paused p("delete.powered_off");
  Stack& stack = p.stack();
  const std::string other = stack.CreateShare();
  REQUIRE(stack.Api("DELETE", p.base()).status == 204);
  p.WaitPaused();
  HttpResponse r = stack.Api("POST", p.base() + "/shares", AttachBody(other));
  CHECK(r.status == 409);
  CHECK_THAT(r.body, Catch::Contains("while it is in task_state deleting"));
  p.Resume();
  REQUIRE(WaitUntil([&] { return stack.Api("GET", p.base()).status == 404; }));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(p.attached()).empty(); }));
  CHECK(stack.ManilaLocks(p.attached()).empty());
  CHECK(stack.ManilaRules(other).empty());
  CHECK(stack.MountPoints().empty());
}

TEST_CASE("a delete during an attach's grant ends both with nothing left",
          "[integration][e2e]") {
  Paused p("attach.rule_active");
  Stack& stack = p.stack();
  const std::string share = stack.CreateShare();
  HttpResponse a = p.AttachAndPause(share);
  // Manila has granted the rule; the attach has not recorded it yet.
  REQUIRE(stack.ManilaRules(share).size() == 1);
  REQUIRE(stack.Api("DELETE", p.base()).status == 204);
  p.Resume();
  REQUIRE(WaitUntil([&] { return stack.Api("GET", p.base()).status == 404; }));
  REQUIRE(WaitUntil([&] {
    return stack.ManilaRules(share).empty() &&
           stack.ManilaRules(p.attached()).empty();
  }));
  CHECK(stack.ManilaLocks(share).empty());
  CHECK(stack.MountPoints().empty());
  // The accepted attach says how it ended.
  auto events = Events(stack, p.server(), a.Header("x-openstack-request-id"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == "compute_attach_share");
}

TEST_CASE("a detach during an attach's grant: both end, with events",
          "[integration][e2e]") {
  Paused p("attach.rule_active");
  Stack& stack = p.stack();
  const std::string share = stack.CreateShare();
  HttpResponse a = p.AttachAndPause(share);
  HttpResponse d = stack.Api("DELETE", p.base() + "/shares/" + share);
  REQUIRE(d.status == 200);
  p.Resume();
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(p.server(), share).empty(); }));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  CHECK(stack.ManilaLocks(share).empty());
  // The attach lost the race and says so; the detach succeeded.
  auto attach_events =
      Events(stack, p.server(), a.Header("x-openstack-request-id"));
  REQUIRE(attach_events.size() == 1);
  CHECK(attach_events[0] == std::make_pair(std::string("compute_attach_share"),
                                           std::string("Error")));
  REQUIRE(WaitUntil([&] {
    auto e = Events(stack, p.server(), d.Header("x-openstack-request-id"));
    return e.size() == 1 && e[0].second == "Success";
  }));
  // The other share is untouched.
  CHECK(stack.ShareStatus(p.server(), p.attached()) == "inactive");
  CHECK(stack.ManilaRules(p.attached()).size() == 1);
}

TEST_CASE("a start during an attach's grant is 409 until the attach ends",
          "[integration][e2e]") {
  // A start would mount what the database says while the attach is still
  // deciding it: refused until the mapping is final.
  Paused p("attach.rule_active");
  Stack& stack = p.stack();
  const std::string share = stack.CreateShare();
  p.AttachAndPause(share);
  HttpResponse r =
      stack.Api("POST", p.base() + "/action", R"({"os-start": null})");
  CHECK(r.status == 409);
  CHECK_THAT(r.body, Catch::Contains("while share " + share + " is attaching"));
  p.Resume();
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(p.server(), share) == "inactive"; }));
  p.Action(R"({"os-start": null})");
  REQUIRE(WaitUntil([&] { return StatusIs(stack, p.server(), "ACTIVE"); }));
  CHECK(stack.ShareStatus(p.server(), share) == "active");
  CHECK(stack.ShareStatus(p.server(), p.attached()) == "active");
  CHECK(stack.MountPoints().size() == 2);
}

TEST_CASE("a second delete during a delete has its own action, which ends",
          "[integration][e2e]") {
  Paused p("delete.powered_off");
  Stack& stack = p.stack();
  HttpResponse first = stack.Api("DELETE", p.base());
  REQUIRE(first.status == 204);
  p.WaitPaused();
  HttpResponse second = stack.Api("DELETE", p.base());
  REQUIRE(second.status == 204);
  p.Resume();
  REQUIRE(WaitUntil([&] { return stack.Api("GET", p.base()).status == 404; }));
  for (const HttpResponse* r : {&first, &second}) {
    const std::string id = r->Header("x-openstack-request-id");
    REQUIRE(WaitUntil([&] {
      auto e = Events(stack, p.server(), id);
      return e.size() == 1 && e[0].second == "Success";
    }));
  }
}
