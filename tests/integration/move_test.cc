// Servers that move with their shares (BEYOND.md section 4, where Nova
// answers 409): cold migration and resize with confirm and revert, and
// evacuation of a server whose host is down, across two agents. Manila's
// rules and each host's domains and mounts are checked at every stop; a
// conductor killed at each step still ends right.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "common/core/ids.h"
#include "common/pg/store.h"
#include "tests/integration/two_hosts.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

constexpr char kAdmin[] = "admin:admin";

HttpResponse Act(Stack& stack, const std::string& server,
                 const std::string& body, const std::string& token = kAdmin) {
  return stack.Api("POST", "/v2.1/servers/" + server + "/action", body, token);
}

// An admin's action at an older microversion.
HttpResponse ActAt(Stack& stack, const std::string& server,
                   const std::string& body, const std::string& version) {
  return Http("POST", stack.api_url() + "/v2.1/servers/" + server + "/action",
              {{"X-Auth-Token", kAdmin},
               {"OpenStack-API-Version", "compute " + version}},
              body);
}

std::string HostOf(Stack& stack, const std::string& id) {
  json host = Shown(stack, id)["OS-EXT-SRV-ATTR:host"];
  return host.is_string() ? host.get<std::string>() : "";
}

std::string Other(const std::string& host) {
  return host == "hv1" ? "hv2" : "hv1";
}

// The addresses Manila grants the share to, sorted.
std::vector<std::string> RuleAddresses(Stack& stack, const std::string& share) {
  std::vector<std::string> out;
  for (const json& r : stack.ManilaRules(share)) {
    out.push_back(r["access_to"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool RulesAre(Stack& stack, const std::string& share,
              std::vector<std::string> hosts) {
  std::vector<std::string> want;
  for (const std::string& h : hosts) want.push_back(StorageIp(h));
  std::sort(want.begin(), want.end());
  return WaitUntil([&] { return RuleAddresses(stack, share) == want; });
}

// Two hosts and a second flavor to resize to.
struct MoveStack : TwoHostStack {
  explicit MoveStack(const std::string& extra = "",
                     const std::string& crash_at = "")
      : TwoHostStack(extra, crash_at) {
    HttpResponse f = stack.Api(
        "POST", "/v2.1/flavors",
        R"({"flavor": {"name": "m1.bigger", "id": "m1.bigger", "ram": 512,
            "vcpus": 2, "disk": 1}})",
        kAdmin);
    REQUIRE(f.status == 200);
  }
  json Migration(const std::string& server) {
    json all = json::parse(
        stack
            .Api("GET", "/v2.1/os-migrations?instance_uuid=" + server, "",
                 kAdmin)
            .body)["migrations"];
    REQUIRE_FALSE(all.empty());
    return all[0];
  }
  std::vector<std::string> Events(const HttpResponse& accepted,
                                  const std::string& server) {
    json action = json::parse(
        stack
            .Api("GET",
                 "/v2.1/servers/" + server + "/os-instance-actions/" +
                     accepted.Header("x-openstack-request-id"),
                 "", kAdmin)
            .body)["instanceAction"];
    std::vector<std::string> out;
    for (const json& e : action["events"]) {
      out.push_back(e["event"].get<std::string>() + ":" +
                    e["result"].get<std::string>());
    }
    return out;
  }
  // Marks `host` down as an operator does before an evacuation.
  void ForceDown(const std::string& host, bool down) {
    json services =
        json::parse(stack.Api("GET", "/v2.1/os-services", "", kAdmin).body);
    for (const json& s : services["services"]) {
      if (s["host"] != host) continue;
      HttpResponse r = stack.Api(
          "PUT", "/v2.1/os-services/" + std::to_string(s["id"].get<int>()),
          std::string(R"({"forced_down": )") + (down ? "true" : "false") + "}",
          kAdmin);
      REQUIRE(r.status == 200);
      CHECK(json::parse(r.body)["service"]["forced_down"] == down);
      if (down) CHECK(json::parse(r.body)["service"]["state"] == "down");
    }
    // Up again once its heartbeat is young (a restarted agent's first).
    if (!down) {
      REQUIRE(WaitUntil([&] {
        json now =
            json::parse(stack.Api("GET", "/v2.1/os-services", "", kAdmin).body);
        for (const json& s : now["services"]) {
          if (s["host"] == host) return s["state"] == "up";
        }
        return false;
      }));
    }
  }
};

}  // namespace

TEST_CASE("a running server with an NFS share migrates, then confirms",
          "[integration][e2e]") {
  const std::string exchange = UniqueName("move-nova");
  MoveStack s("[notifications]\nexchange = " + exchange + "\n");
  NotificationListener listener(exchange);
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  const std::string source = HostOf(stack, server), dest = Other(source);
  REQUIRE(RulesAre(stack, share, {source}));

  HttpResponse migrate = Act(stack, server, R"({"migrate": null})");
  REQUIRE(migrate.status == 202);
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  // Running on the destination; the source keeps its rule and mounts.
  CHECK(HostOf(stack, server) == dest);
  CHECK(s.Domain(dest, server) == "running");
  CHECK(s.Domain(source, server) == "shutoff");
  CHECK(stack.MountPoints(dest).size() == 1);
  CHECK(stack.MountPoints(source).size() == 1);
  CHECK(RulesAre(stack, share, {source, dest}));
  CHECK(stack.ShareStatus(server, share) == "active");
  json m = s.Migration(server);
  CHECK(m["status"] == "finished");
  CHECK(m["migration_type"] == "migration");
  CHECK(m["source_compute"] == source);
  CHECK(m["dest_compute"] == dest);
  CHECK(s.Events(migrate, server) ==
        std::vector<std::string>{"compute_prep_resize:Success",
                                 "compute_resize_instance:Success",
                                 "compute_finish_resize:Success"});

  HttpResponse confirm =
      Act(stack, server, R"({"confirmResize": null})", "alice:demo");
  REQUIRE(confirm.status == 204);
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(RulesAre(stack, share, {dest}));
  CHECK(s.Domain(source, server) == "absent");
  CHECK(stack.MountPoints(source).empty());
  CHECK(s.Domain(dest, server) == "running");
  CHECK(s.Migration(server)["status"] == "confirmed");
  CHECK(s.Events(confirm, server) ==
        std::vector<std::string>{"compute_confirm_resize:Success"});
  // Confirmed once: a second one has nothing to confirm.
  HttpResponse again = Act(stack, server, R"({"confirmResize": null})");
  CHECK(again.status == 409);

  const std::vector<std::string> expected = {
      "instance.resize_prep.start",    "instance.resize_prep.end",
      "instance.resize.start",         "instance.resize.end",
      "instance.resize_finish.start",  "instance.resize_finish.end",
      "instance.resize_confirm.start", "instance.resize_confirm.end"};
  CHECK(listener.AwaitEventTypes("resize", expected.size()) == expected);
}

TEST_CASE("a resize with shares reverts to its source host and flavor",
          "[integration][e2e]") {
  MoveStack s;
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  const std::string source = HostOf(stack, server), dest = Other(source);
  HttpResponse resize = Act(
      stack, server, R"({"resize": {"flavorRef": "m1.bigger"}})", "alice:demo");
  REQUIRE(resize.status == 202);
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  CHECK(Shown(stack, server)["flavor"]["original_name"] == "m1.bigger");
  CHECK(RulesAre(stack, share, {source, dest}));
  CHECK(s.Migration(server)["migration_type"] == "resize");

  HttpResponse revert =
      Act(stack, server, R"({"revertResize": null})", "alice:demo");
  REQUIRE(revert.status == 202);
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(HostOf(stack, server) == source);
  CHECK(Shown(stack, server)["flavor"]["original_name"] == "m1.tiny");
  CHECK(RulesAre(stack, share, {source}));
  CHECK(s.Domain(source, server) == "running");
  CHECK(s.Domain(dest, server) == "absent");
  CHECK(stack.MountPoints(dest).empty());
  CHECK(stack.MountPoints(source).size() == 1);
  CHECK(stack.ShareStatus(server, share) == "active");
  CHECK(s.Migration(server)["status"] == "reverted");
  CHECK(s.Events(revert, server) ==
        std::vector<std::string>{"compute_revert_resize:Success"});

  // A stopped server moves stopped and stays so; its share inactive.
  REQUIRE(Act(stack, server, R"({"os-stop": null})").status == 202);
  REQUIRE(Settles(stack, server, "SHUTOFF"));
  REQUIRE(Act(stack, server, R"({"migrate": null})").status == 202);
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  CHECK(Shown(stack, server)["OS-EXT-STS:power_state"] == 4);
  CHECK(RulesAre(stack, share, {source, dest}));
  REQUIRE(Act(stack, server, R"({"confirmResize": null})").status == 204);
  REQUIRE(Settles(stack, server, "SHUTOFF"));
  CHECK(HostOf(stack, server) == dest);
  CHECK(RulesAre(stack, share, {dest}));
  CHECK(stack.ShareStatus(server, share) == "inactive");
  REQUIRE(Act(stack, server, R"({"os-start": null})").status == 202);
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(s.Domain(dest, server) == "running");
  CHECK(stack.MountPoints(dest).size() == 1);
}

TEST_CASE("moves answer as Nova does when they may not", "[integration]") {
  MoveStack s;
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  const std::string source = HostOf(stack, server), dest = Other(source);
  struct Case {
    std::string body, token;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"migrate": null})", "alice:demo", 403, "Policy doesn't allow"},
      {R"({"migrate": {"host": "nowhere"}})", kAdmin, 400,
       "Compute host nowhere could not be found."},
      {R"({"migrate": {"host": ")" + source + R"("}})", kAdmin, 400,
       "Cannot migrate to the host where the server exists."},
      {R"({"migrate": {"bad": 1}})", kAdmin, 400, "Additional properties"},
      {R"({"resize": {"flavorRef": "m1.tiny"}})", "alice:demo", 400,
       "When resizing, instances must change flavor!"},
      {R"({"resize": {"flavorRef": "m9.none"}})", "alice:demo", 400,
       "Flavor m9.none could not be found."},
      {R"({"resize": {}})", "alice:demo", 400, "flavorRef"},
      {R"({"confirmResize": null})", "alice:demo", 409,
       "while it is in vm_state active"},
      {R"({"revertResize": null})", "alice:demo", 409,
       "while it is in vm_state active"},
      {R"({"evacuate": {}})", "alice:demo", 403, "Policy doesn't allow"},
      {R"({"evacuate": {}})", kAdmin, 400,
       "Compute service of " + source + " is still in use."},
      {R"({"evacuate": {"host": "nowhere"}})", kAdmin, 404,
       "Compute host nowhere not found."},
      {R"({"os-migrateLive": {"host": null, "block_migration": "auto"}})",
       kAdmin, 409, "virtiofs live migration needs QEMU >= 8.2"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    HttpResponse r = Act(stack, server, c.body, c.token);
    CHECK(r.status == c.status);
    CHECK_THAT(r.body, Catch::Contains(c.message));
  }
  // The only other host disabled: nowhere to go.
  auto set_dest = [&](const std::string& status) {
    REQUIRE(stack
                .Api("PUT",
                     std::string("/v2.1/os-services/") +
                         (dest == "hv1" ? "1" : "2"),
                     R"({"status": ")" + status + R"("})", kAdmin)
                .status == 200);
  };
  set_dest("disabled");
  HttpResponse none = Act(stack, server, R"({"migrate": null})");
  CHECK(none.status == 400);
  CHECK_THAT(none.body, Catch::Contains("No valid host was found."));
  // Nothing was changed by any of them.
  CHECK(Shown(stack, server)["status"] == "ACTIVE");
  CHECK(RulesAre(stack, share, {source}));
  // A share cannot be attached while the server awaits its confirm.
  set_dest("enabled");
  REQUIRE(Act(stack, server, R"({"migrate": null})").status == 202);
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  const std::string later = stack.CreateShare();
  HttpResponse attach = stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                                  AttachBody(later));
  CHECK(attach.status == 409);
  CHECK_THAT(attach.body, Catch::Contains("vm_state resized"));
  // Deleted while awaiting its confirm: both hosts let go.
  REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + server).status == 204);
  REQUIRE(WaitUntil([&] {
    return stack.Api("GET", "/v2.1/servers/" + server).status == 404;
  }));
  CHECK(RulesAre(stack, share, {}));
  CHECK(s.Domain(source, server) == "absent");
  CHECK(s.Domain(dest, server) == "absent");
  CHECK(stack.MountPoints(source).empty());
  CHECK(stack.MountPoints(dest).empty());
}

TEST_CASE("a server evacuated from a dead host keeps its shares",
          "[integration][e2e]") {
  MoveStack s("[conductor]\nhost_audit_interval = 1\n");
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  const std::string source = HostOf(stack, server), dest = Other(source);
  // The host hangs (its guest and mounts stay, frozen with it), and the
  // operator marks it down.
  stack.SuspendCompute(source);
  s.ForceDown(source, true);
  HttpResponse evacuate = ActAt(stack, server, R"({"evacuate": {}})", "2.94");
  REQUIRE(evacuate.status == 200);
  CHECK(evacuate.body.empty());
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(HostOf(stack, server) == dest);
  CHECK(s.Domain(dest, server) == "running");
  CHECK(stack.MountPoints(dest).size() == 1);
  CHECK(stack.ShareStatus(server, share) == "active");
  // Fenced: the dead host's rule is gone.
  CHECK(RulesAre(stack, share, {dest}));
  CHECK(s.Migration(server)["status"] == "done");
  CHECK(s.Events(evacuate, server) ==
        std::vector<std::string>{"compute_rebuild_instance:Success"});

  // The host comes back with the guest it ran: once it is up, the audit
  // removes that domain and its mounts (no guest runs twice).
  stack.ResumeCompute(source);
  CHECK(s.Domain(source, server) == "running");
  s.ForceDown(source, false);
  REQUIRE(WaitUntil([&] { return s.Domain(source, server) == "absent"; },
                    std::chrono::seconds(20)));
  CHECK(stack.MountPoints(source).empty());
  CHECK(s.Migration(server)["status"] == "completed");
  CHECK(s.Domain(dest, server) == "running");
  CHECK(RulesAre(stack, share, {dest}));

  // From 2.95 an evacuated server is left stopped.
  stack.KillCompute(dest);
  s.ForceDown(dest, true);
  REQUIRE(Act(stack, server, R"({"evacuate": {"host": ")" + source + R"("}})")
              .status == 200);
  REQUIRE(Settles(stack, server, "SHUTOFF"));
  CHECK(HostOf(stack, server) == source);
  CHECK(stack.ShareStatus(server, share) == "inactive");
  CHECK(RulesAre(stack, share, {source}));
}

TEST_CASE("a conductor killed at each step of a move", "[integration]") {
  MoveStack s;
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  auto crash_at = [&](const std::string& point, const std::string& body,
                      const std::string& then) {
    INFO("crash point " << point);
    stack.StopConductor();
    stack.StartConductor(point);
    HttpResponse accepted = Act(stack, server, body);
    INFO(accepted.body);
    REQUIRE((accepted.status == 202 || accepted.status == 204 ||
             accepted.status == 200));
    REQUIRE(WaitUntil([&] { return !stack.ConductorRunning(); }));
    REQUIRE(absl::StrContains(stack.ConductorLog(),
                              "Crash point " + point + " reached"));
    stack.StartConductor();
    REQUIRE(Settles(stack, server, then));
  };
  auto moved_once = [&](const std::string& host) {
    CHECK(HostOf(stack, server) == host);
    CHECK(RulesAre(stack, share, {host}));
    CHECK(s.Domain(host, server) == "running");
    CHECK(s.Domain(Other(host), server) == "absent");
    CHECK(stack.MountPoints(host).size() == 1);
    CHECK(stack.MountPoints(Other(host)).empty());
    CHECK(stack.ShareStatus(server, share) == "active");
  };
  const std::vector<std::string> migrate_points = {
      "migrate.notified", "migrate.dest_granted", "migrate.source_stopped",
      "migrate.dest_started", "migrate.recorded"};
  const std::vector<std::string> confirm_points = {
      "confirm.notified", "confirm.source_removed", "confirm.source_revoked"};
  const std::vector<std::string> revert_points = {
      "revert.notified", "revert.dest_removed", "revert.dest_revoked",
      "revert.source_started"};
  for (size_t i = 0; i < migrate_points.size(); ++i) {
    const std::string from = HostOf(stack, server);
    crash_at(migrate_points[i], R"({"migrate": null})", "VERIFY_RESIZE");
    CHECK(RulesAre(stack, share, {from, Other(from)}));
    if (i % 2 == 0) {
      crash_at(confirm_points[i / 2 % confirm_points.size()],
               R"({"confirmResize": null})", "ACTIVE");
      moved_once(Other(from));
    } else {
      crash_at(revert_points[i % revert_points.size()],
               R"({"revertResize": null})", "ACTIVE");
      moved_once(from);
    }
  }
  // Every confirm and revert point once more, after a clean migration.
  for (const auto& [points, confirm] :
       {std::pair{revert_points, false}, std::pair{confirm_points, true}}) {
    for (const std::string& point : points) {
      const std::string from = HostOf(stack, server);
      REQUIRE(Act(stack, server, R"({"migrate": null})").status == 202);
      REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
      crash_at(
          point,
          confirm ? R"({"confirmResize": null})" : R"({"revertResize": null})",
          "ACTIVE");
      moved_once(confirm ? Other(from) : from);
    }
  }
  // Evacuation: the host is killed each time, then comes back.
  for (const char* point :
       {"evacuate.notified", "evacuate.dest_granted", "evacuate.dest_started",
        "evacuate.placed", "evacuate.source_revoked"}) {
    const std::string from = HostOf(stack, server);
    stack.KillCompute(from);
    s.ForceDown(from, true);
    stack.StopConductor();
    stack.StartConductor(point);
    HttpResponse accepted = ActAt(stack, server, R"({"evacuate": {}})", "2.94");
    INFO("crash point " << point << ": " << accepted.body);
    REQUIRE(accepted.status == 200);
    REQUIRE(WaitUntil([&] { return !stack.ConductorRunning(); }));
    stack.StartConductor();
    REQUIRE(Settles(stack, server, "ACTIVE"));
    CHECK(HostOf(stack, server) == Other(from));
    CHECK(RulesAre(stack, share, {Other(from)}));
    CHECK(s.Domain(Other(from), server) == "running");
    stack.StartCompute(from);
    s.ForceDown(from, false);
  }
}

TEST_CASE("the reconciler finishes moves whose task was lost",
          "[integration]") {
  MoveStack s(
      "[conductor]\nreconcile_interval = 1\nreconcile_stale_after = 2\n");
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  const std::string source = HostOf(stack, server), dest = Other(source);
  // The rows an accepted request leaves, without its task (the outbox is
  // transactional, so this stands for a task the broker lost).
  auto seed = [&](const std::function<void(pqxx::work&, const Server&)>& f) {
    REQUIRE(stack.db()
                .Transact([&](pqxx::work& w) {
                  f(w, *GetServer(w, server));
                  return absl::OkStatus();
                })
                .ok());
  };
  seed([&](pqxx::work& w, const Server& now) {
    ServerMigration m;
    m.uuid = NewUuid();
    m.server_uuid = server;
    m.migration_type = "migration";
    m.source_compute = source;
    m.dest_compute = dest;
    m.old_flavor_id = m.new_flavor_id = now.flavor_id;
    m.status = "pre-migrating";
    m.project_id = now.project_id;
    m.user_id = now.user_id;
    InsertMigration(w, m);
    REQUIRE(UpdateServerMove(w, server, now.version, now.vm_state,
                             "resize_prep", now.power_state,
                             {source, dest, now.flavor_id, now.flavor_id}));
  });
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  CHECK(RulesAre(stack, share, {source, dest}));
  // A confirm has no task_state: its migration is what is found.
  seed([&](pqxx::work& w, const Server&) {
    w.exec_params(
        "UPDATE migrations SET status = 'confirming' WHERE server_uuid = $1 "
        "AND status = 'finished'",
        server);
  });
  REQUIRE(
      WaitUntil([&] { return s.Migration(server)["status"] == "confirmed"; },
                std::chrono::seconds(20)));
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(RulesAre(stack, share, {dest}));
  CHECK(s.Domain(source, server) == "absent");
  // A revert whose task was lost.
  REQUIRE(Act(stack, server, R"({"migrate": null})").status == 202);
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  seed([&](pqxx::work& w, const Server& now) {
    w.exec_params(
        "UPDATE migrations SET status = 'reverting' WHERE server_uuid = $1 "
        "AND status = 'finished'",
        server);
    REQUIRE(UpdateServerState(w, server, now.version, now.vm_state,
                              "resize_reverting", now.power_state));
  });
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(HostOf(stack, server) == dest);
  CHECK(RulesAre(stack, share, {dest}));
  CHECK(s.Domain(dest, server) == "running");
}

TEST_CASE("a confirm whose source host is unreachable can be asked again",
          "[integration]") {
  MoveStack s("[conductor]\nagent_retry_timeout = 1\n");
  Stack& stack = s.stack;
  const auto with_share = s.WithShare();
  const std::string server = with_share.first, share = with_share.second;
  const std::string source = HostOf(stack, server), dest = Other(source);
  REQUIRE(Act(stack, server, R"({"migrate": null})").status == 202);
  REQUIRE(Settles(stack, server, "VERIFY_RESIZE"));
  stack.KillCompute(source);
  HttpResponse confirm = Act(stack, server, R"({"confirmResize": null})");
  REQUIRE(confirm.status == 204);
  // Not retried while the host is away: the confirm ends in error and the
  // server waits for another one, both hosts still held.
  REQUIRE(WaitUntil([&] { return !s.Events(confirm, server).empty(); }));
  CHECK(s.Events(confirm, server) ==
        std::vector<std::string>{"compute_confirm_resize:Error"});
  CHECK(Shown(stack, server)["status"] == "VERIFY_RESIZE");
  CHECK(s.Migration(server)["status"] == "finished");
  CHECK(RulesAre(stack, share, {source, dest}));
  stack.StartCompute(source);
  REQUIRE(Act(stack, server, R"({"confirmResize": null})").status == 204);
  REQUIRE(Settles(stack, server, "ACTIVE"));
  CHECK(RulesAre(stack, share, {dest}));
  CHECK(s.Domain(source, server) == "absent");
}
