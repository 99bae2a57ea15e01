// The attach path through the real daemons: shareplane-api,
// shareplane-conductor, shareplane-compute and the Manila emulator as
// processes, over the shared PostgreSQL and RabbitMQ.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/core/ids.h"
#include "common/pg/store.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

TEST_CASE(
    "attach to a stopped server goes attaching then inactive across "
    "the three daemons",
    "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();  // registers hv1 with storage ip 192.0.2.10
  stack.StartApi();
  const std::string server = stack.CreateServer("hv1");
  const std::string share = stack.CreateShare();

  HttpResponse r = stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                             AttachBody(share, "data"));
  REQUIRE(r.status == 201);
  json body = json::parse(r.body)["share"];
  CHECK(body ==
        json{{"share_id", share}, {"status", "attaching"}, {"tag", "data"}});
  CHECK(r.Header("x-openstack-request-id").rfind("req-", 0) == 0);

  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));

  // Manila holds one active, locked rw rule for the host's storage IP.
  json rules = stack.ManilaRules(share);
  REQUIRE(rules.size() == 1);
  CHECK(rules[0]["access_type"] == "ip");
  CHECK(rules[0]["access_to"] == "192.0.2.10");
  CHECK(rules[0]["access_level"] == "rw");
  CHECK(rules[0]["state"] == "active");
  HttpResponse del = Http("DELETE", stack.manila_url() + "/shares/" + share,
                          {{"X-Auth-Token", "alice:demo"}});
  CHECK(del.status == 403);  // the lock protects the share

  // Admins see the attachment's uuid and export location.
  HttpResponse show = stack.Api(
      "GET", "/v2.1/servers/" + server + "/shares/" + share, "", "admin:demo");
  REQUIRE(show.status == 200);
  json admin_view = json::parse(show.body)["share"];
  CHECK(admin_view["export_location"] == "127.0.0.1:/shares/share-" + share);
  CHECK(admin_view["status"] == "inactive");
  CHECK(admin_view.contains("uuid"));

  // The attach is recorded as an instance action with a successful event.
  std::string result;
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                pqxx::result rows = w.exec_params(
                    "SELECT e.result FROM instance_actions a JOIN "
                    "instance_action_events e ON e.action_id = a.id "
                    "WHERE a.server_uuid = $1 AND a.action = 'attach_share'",
                    server);
                if (!rows.empty()) result = rows[0][0].as<std::string>();
                return absl::OkStatus();
              })
              .ok());
  CHECK(result == "Success");
}

TEST_CASE(
    "a task published while the conductor is down is processed when "
    "it starts",
    "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string server = stack.CreateServer("hv-offline");
  const std::string share = stack.CreateShare();
  HttpResponse r = stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                             AttachBody(share));
  REQUIRE(r.status == 201);
  CHECK(json::parse(r.body)["share"]["tag"] == share);  // default tag

  // The relay has handed the task to RabbitMQ; nobody consumes it yet: it
  // waits in the conductor's queue, which has no consumer.
  REQUIRE(WaitUntil([&] {
    bool sent = false;
    (void)stack.db().Transact([&](pqxx::work& w) {
      sent = w.exec("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
                 .as<int>() == 0;
      return absl::OkStatus();
    });
    return sent;
  }));
  const std::optional<QueueCounts> queued = InspectQueue(stack.task_queue());
  REQUIRE(queued.has_value());
  CHECK(queued->messages == 1);
  CHECK(queued->consumers == 0);
  CHECK(stack.ShareStatus(server, share) == "attaching");

  stack.StartConductor();
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));
  json rules = stack.ManilaRules(share);
  REQUIRE(rules.size() == 1);
  CHECK(rules[0]["access_to"] == "192.0.2.20");
}

TEST_CASE("racing attaches of one share to one server give one 201 and 409s",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string share = stack.CreateShare();
  std::vector<int> codes(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      codes[i] = StatusOf([&] {
        return stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                         AttachBody(share, "t" + std::to_string(i)));
      });
    });
  }
  for (auto& t : threads) t.join();
  CHECK(std::count(codes.begin(), codes.end(), 201) == 1);
  CHECK(std::count(codes.begin(), codes.end(), 409) == 7);
  HttpResponse list = stack.Api("GET", "/v2.1/servers/" + server + "/shares");
  CHECK(json::parse(list.body)["shares"].size() == 1);
}

TEST_CASE("detach revokes the access rule and removes the attachment",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartApi();
  const std::string a = stack.CreateServer("hv2");
  const std::string b = stack.CreateServer("hv2");
  const std::string share = stack.CreateShare();
  REQUIRE(stack.Api("POST", "/v2.1/servers/" + a + "/shares", AttachBody(share))
              .status == 201);
  REQUIRE(stack.Api("POST", "/v2.1/servers/" + b + "/shares", AttachBody(share))
              .status == 201);
  REQUIRE(WaitUntil([&] {
    return stack.ShareStatus(a, share) == "inactive" &&
           stack.ShareStatus(b, share) == "inactive";
  }));
  CHECK(stack.ManilaRules(share).size() == 1);  // one rule per host

  // Server b still uses the host's rule: it stays.
  HttpResponse d =
      stack.Api("DELETE", "/v2.1/servers/" + a + "/shares/" + share);
  CHECK(d.status == 200);
  CHECK(d.body.empty());
  REQUIRE(WaitUntil([&] { return stack.ShareStatus(a, share).empty(); }));
  CHECK(stack.ManilaRules(share).size() == 1);

  // The last user goes: the rule goes.
  REQUIRE(
      stack.Api("DELETE", "/v2.1/servers/" + b + "/shares/" + share).status ==
      200);
  REQUIRE(WaitUntil([&] { return stack.ShareStatus(b, share).empty(); }));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
}

TEST_CASE("a detach queued before the attach ran leaves no access rule",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string share = stack.CreateShare();
  HttpResponse attach = stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                                  AttachBody(share));
  REQUIRE(attach.status == 201);
  REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + server + "/shares/" + share)
              .status == 200);
  CHECK(stack.ShareStatus(server, share) == "detaching");
  stack.StartConductor();
  REQUIRE(WaitUntil([&] { return stack.ShareStatus(server, share).empty(); }));
  // The accepted attach still ends with an event saying what became of it
  // (it used to keep "events": [] forever); once it has, both tasks are
  // done: nothing granted, nothing left behind.
  const std::string action = "/v2.1/servers/" + server +
                             "/os-instance-actions/" +
                             attach.Header("x-openstack-request-id");
  nlohmann::json events;
  REQUIRE(WaitUntil([&] {
    HttpResponse r = stack.Api("GET", action);
    if (r.status != 200) return false;
    events = nlohmann::json::parse(r.body)["instanceAction"]["events"];
    return !events.empty();
  }));
  REQUIRE(events.size() == 1);
  CHECK(events[0]["event"] == "compute_attach_share");
  CHECK(events[0]["result"] == "Error");
  CHECK(stack.ManilaRules(share).empty());
}

TEST_CASE("share requests on a server with a task in flight are 409",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string share = stack.CreateShare();
  // A stopped server being started, rebooted hard, deleted: Nova's rule
  // (BEYOND.md section 1) refuses share requests until the task ends.
  for (const std::string task_state :
       {"powering-on", "rebooting_hard", "deleting"}) {
    INFO(task_state);
    const std::string server = stack.CreateServer();
    const std::string attached = stack.CreateShare();
    const std::string base = "/v2.1/servers/" + server + "/shares";
    REQUIRE(stack.Api("POST", base, AttachBody(attached)).status == 201);
    REQUIRE(stack.db()
                .Transact([&](pqxx::work& w) {
                  w.exec_params(
                      "UPDATE servers SET task_state = $2 WHERE uuid = $1",
                      server, task_state);
                  return absl::OkStatus();
                })
                .ok());
    HttpResponse r = stack.Api("POST", base, AttachBody(share));
    CHECK(r.status == 409);
    CHECK_THAT(r.body,
               Catch::Contains("Cannot 'create share' instance " + server +
                               " while it is in task_state " + task_state));
    r = stack.Api("DELETE", base + "/" + attached);
    CHECK(r.status == 409);
    CHECK_THAT(r.body,
               Catch::Contains("Cannot 'delete share' instance " + server +
                               " while it is in task_state " + task_state));
    // Nothing was recorded for the refused requests.
    CHECK(stack.ShareStatus(server, share).empty());
    CHECK(stack.ShareStatus(server, attached) == "attaching");
  }
}

TEST_CASE("attach errors follow the spec's order and messages",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string running = stack.CreateServer("hv1", "active");
  const std::string share = stack.CreateShare();
  const std::string base = "/v2.1/servers/" + server + "/shares";
  // A host without virtiofs, and one with virtiofs but no shared memory.
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                for (const char* name : {"hv-plain", "hv-nomem"}) {
                  ComputeHost h;
                  h.hostname = name;
                  h.storage_ip = "192.0.2.30";
                  h.agent_endpoint = "127.0.0.1:1";
                  if (std::string(name) == "hv-nomem") {
                    h.traits = {"COMPUTE_STORAGE_VIRTIO_FS"};
                  }
                  UpsertComputeHost(w, h);
                }
                return absl::OkStatus();
              })
              .ok());
  const std::string plain = stack.CreateServer("hv-plain");
  const std::string nomem = stack.CreateServer("hv-nomem");
  HttpResponse bare = Http("POST", stack.manila_url() + "/shares",
                           {{"X-Auth-Token", "admin:admin"}},
                           json{{"share",
                                 {{"share_proto", "NFS"},
                                  {"project_id", "demo"},
                                  {"no_export_location", true}}}}
                               .dump());
  const std::string no_export = json::parse(bare.body)["share"]["id"];
  const std::string unsupported =
      "Feature not supported because either compute or instance are not "
      "configured correctly.";
  struct Case {
    std::string name, method, path, body, token;
    int code;
    std::string fault, message;
  };
  const std::string unknown = "11111111-2222-3333-4444-555555555555";
  std::vector<Case> cases = {
      {"bad body", "POST", base, R"({"share": {}})", "alice:demo", 400,
       "badRequest", "'share_id' is a required property"},
      {"unknown server", "POST", "/v2.1/servers/" + unknown + "/shares",
       AttachBody(share), "alice:demo", 404, "itemNotFound",
       "Instance " + unknown + " could not be found."},
      {"other project's server", "POST", base, AttachBody(share), "eve:other",
       404, "itemNotFound", "Instance " + server + " could not be found."},
      {"running server", "POST", "/v2.1/servers/" + running + "/shares",
       AttachBody(share), "alice:demo", 409, "conflictingRequest",
       "Cannot 'create share' instance " + running +
           " while it is in vm_state active"},
      {"unknown share", "POST", base, AttachBody(unknown), "alice:demo", 404,
       "itemNotFound", "Share " + unknown + " could not be found."},
      {"host without virtiofs", "POST", "/v2.1/servers/" + plain + "/shares",
       AttachBody(share), "alice:demo", 409, "conflictingRequest", unsupported},
      {"host without shared memory", "POST",
       "/v2.1/servers/" + nomem + "/shares", AttachBody(share), "alice:demo",
       409, "conflictingRequest", unsupported},
      {"share without export location", "POST", base, AttachBody(no_export),
       "alice:demo", 409, "conflictingRequest",
       "Share " + no_export + " export location is missing."},
      {"reader may not attach", "POST", base, AttachBody(share), "reader", 403,
       "forbidden",
       "Policy doesn't allow os_compute_api:os-server-shares:create to be "
       "performed."},
      {"query on list", "GET", base + "?limit=1", "", "alice:demo", 400,
       "badRequest", "Additional properties are not allowed"},
      {"show not attached", "GET", base + "/" + unknown, "", "alice:demo", 404,
       "itemNotFound", "Share " + unknown + " could not be found."},
      {"detach not attached", "DELETE", base + "/" + unknown, "", "alice:demo",
       404, "itemNotFound", "Share " + unknown + " could not be found."},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    HttpResponse r = c.token == "reader"
                         ? Http(c.method, stack.api_url() + c.path,
                                {{"X-Auth-User", "rita"},
                                 {"X-Auth-Project-Id", "demo"},
                                 {"X-Roles", "reader"},
                                 {"OpenStack-API-Version", "compute 2.97"}},
                                c.body)
                         : stack.Api(c.method, c.path, c.body, c.token);
    CHECK(r.status == c.code);
    json body = json::parse(r.body, nullptr, false);
    REQUIRE(body.contains(c.fault));
    CHECK(body[c.fault]["code"] == c.code);
    CHECK(body[c.fault]["message"].get<std::string>().find(c.message) !=
          std::string::npos);
  }
  // Share routes do not exist below microversion 2.97.
  HttpResponse old = Http("GET", stack.api_url() + base,
                          {{"X-Auth-Token", "alice:demo"},
                           {"OpenStack-API-Version", "compute 2.96"}});
  CHECK(old.status == 404);
  HttpResponse too_new = Http("GET", stack.api_url() + base,
                              {{"X-Auth-Token", "alice:demo"},
                               {"OpenStack-API-Version", "compute 2.200"}});
  CHECK(too_new.status == 406);

  // A share that is not available, and a CIFS share.
  HttpResponse cifs = Http(
      "POST", stack.manila_url() + "/shares", {{"X-Auth-Token", "admin:admin"}},
      json{{"share", {{"share_proto", "CIFS"}, {"project_id", "demo"}}}}
          .dump());
  std::string cifs_id = json::parse(cifs.body)["share"]["id"];
  HttpResponse r = stack.Api("POST", base, AttachBody(cifs_id));
  CHECK(r.status == 409);
  CHECK(json::parse(r.body)["conflictingRequest"]["message"] ==
        "Share protocol CIFS is not supported.");
  Http("POST", stack.manila_url() + "/shares/" + share + "/action",
       {{"X-Auth-Token", "admin:admin"}},
       R"({"reset_status": {"status": "error"}})");
  r = stack.Api("POST", base, AttachBody(share));
  CHECK(r.status == 409);
  CHECK(json::parse(r.body)["conflictingRequest"]["message"] ==
        "Share " + share + " is in 'error' instead of 'available' status.");
}

TEST_CASE("the reconciler finishes workflows whose task was lost",
          "[integration][e2e]") {
  Stack stack(
      "[conductor]\nreconcile_interval = 1\nreconcile_stale_after = 2\n");
  stack.StartEmulator();
  stack.StartConductor();
  const std::string server = stack.CreateServer();
  const std::string attaching = stack.CreateShare();
  const std::string detaching = stack.CreateShare();
  // Rows as a crash between writing the mapping and its task would leave
  // them (the outbox is transactional, so this stands for any lost task).
  stack.SeedLostMapping(server, attaching, "attaching");
  stack.SeedLostMapping(server, detaching, "detaching");
  auto status_of = [&](const std::string& share) {
    std::string status = "gone";
    (void)stack.db().Transact([&](pqxx::work& w) {
      auto m = GetShareMappingByShare(w, server, share);
      if (m) status = m->status;
      return absl::OkStatus();
    });
    return status;
  };
  REQUIRE(WaitUntil([&] { return status_of(attaching) == "inactive"; }));
  REQUIRE(WaitUntil([&] { return status_of(detaching) == "gone"; }));
  CHECK(stack.ManilaRules(attaching).size() == 1);
  CHECK(stack.ManilaRules(detaching).empty());
}

TEST_CASE("Manila failures end an attach in error, never in attaching",
          "[integration][e2e]") {
  Stack stack("[manila]\naccess_rule_timeout = 2\nretry_attempts = 3\n");
  stack.StartEmulator();
  stack.StartApi();
  struct Case {
    std::string name;
    json faults;
    std::string final_status;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"rule goes to error",
       {{"rules", "error"}},
       "error",
       "access rule went to error"},
      {"rule stuck applying", {{"rules", "stuck"}}, "error", "Timed out"},
      {"two 503s are retried",
       {{"fail_next", 2}, {"fail_status", 503}},
       "inactive",
       ""},
      {"Manila keeps failing",
       {{"fail_next", 50}, {"fail_status", 500}},
       "error",
       "answered 500"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string server = stack.CreateServer();
    const std::string share = stack.CreateShare();
    REQUIRE(stack
                .Api("POST", "/v2.1/servers/" + server + "/shares",
                     AttachBody(share))
                .status == 201);
    // The faults apply to the conductor's calls only.
    REQUIRE(Http("POST", stack.manila_url() + "/_emulator/faults",
                 {{"X-Auth-Token", "admin:admin"}}, c.faults.dump())
                .status == 204);
    stack.StartConductor();
    REQUIRE(WaitUntil([&] {
      const std::string s = stack.ShareStatus(server, share);
      return s != "attaching" && !s.empty() && s.rfind("http-", 0) != 0;
    }));
    stack.StopConductor();
    Http("POST", stack.manila_url() + "/_emulator/faults",
         {{"X-Auth-Token", "admin:admin"}},
         R"({"rules": "normal", "fail_next": 0})");
    CHECK(stack.ShareStatus(server, share) == c.final_status);
    if (c.reason.empty()) continue;
    // The reason is recorded as the attach action's failed event.
    std::string details;
    REQUIRE(stack.db()
                .Transact([&](pqxx::work& w) {
                  pqxx::result r = w.exec_params(
                      "SELECT e.result, e.details FROM instance_actions a "
                      "JOIN instance_action_events e ON e.action_id = a.id "
                      "WHERE a.server_uuid = $1",
                      server);
                  if (!r.empty() && r[0][0].as<std::string>() == "Error") {
                    details = r[0][1].as<std::string>();
                  }
                  return absl::OkStatus();
                })
                .ok());
    CHECK(details.find(c.reason) != std::string::npos);
  }
}
