// A server's whole life through the real daemons: create, stop, attach,
// start (the share becomes active), stop, blocked actions, delete.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/stack.h"

using namespace shareplane::testing;
using json = nlohmann::json;
using shareplane::HttpResponse;

namespace {

json Server(Stack& stack, const std::string& id,
            const std::string& token = "alice:demo") {
  HttpResponse r = stack.Api("GET", "/v2.1/servers/" + id, "", token);
  if (r.status != 200)
    return json{{"status", "HTTP " + std::to_string(r.status)}};
  return json::parse(r.body)["server"];
}

bool StatusIs(Stack& stack, const std::string& id, const std::string& status) {
  return Server(stack, id)["status"] == status;
}

}  // namespace

TEST_CASE("a server lives through create, attach, start, stop and delete",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  // An admin adds a flavor; the user boots a server from it.
  HttpResponse f = stack.Api(
      "POST", "/v2.1/flavors",
      R"({"flavor": {"name": "m1.tiny", "ram": 256, "vcpus": 1, "disk": 1}})",
      "admin:admin");
  REQUIRE(f.status == 200);
  HttpResponse c = stack.Api(
      "POST", "/v2.1/servers",
      R"({"server": {"name": "vm1", "flavorRef": "m1.tiny", "networks": "none"}})");
  REQUIRE(c.status == 202);
  const std::string id = json::parse(c.body)["server"]["id"];
  CHECK(json::parse(c.body)["server"].contains("adminPass"));
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); }));
  json s = Server(stack, id);
  CHECK(s["OS-EXT-STS:power_state"] == 1);
  CHECK(s["flavor"]["original_name"] == "m1.tiny");
  CHECK_FALSE(s.contains("OS-EXT-SRV-ATTR:host"));  // admins only
  CHECK(Server(stack, id, "admin:admin")["OS-EXT-SRV-ATTR:host"] == "hv1");

  // Shares attach to stopped servers only.
  const std::string share = stack.CreateShare();
  const std::string attach =
      json{{"share", {{"share_id", share}, {"tag", "data"}}}}.dump();
  HttpResponse busy =
      stack.Api("POST", "/v2.1/servers/" + id + "/shares", attach);
  CHECK(busy.status == 409);
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"os-stop": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "SHUTOFF"); }));
  REQUIRE(stack.Api("POST", "/v2.1/servers/" + id + "/shares", attach).status ==
          201);
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(id, share) == "inactive"; }));

  // Start: the share becomes active; stop: inactive again.
  HttpResponse again = stack.Api("POST", "/v2.1/servers/" + id + "/action",
                                 R"({"os-stop": null})");
  CHECK(again.status == 409);
  CHECK(json::parse(again.body)["conflictingRequest"]["message"] ==
        "Cannot 'stop' instance " + id + " while it is in vm_state stopped");
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"os-start": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); }));
  CHECK(stack.ShareStatus(id, share) == "active");

  // Suspend and resume are refused while it has shares (rebuild, shelve
  // and the moves are not: rebuild_test.cc, shelve_test.cc, move_test.cc).
  for (const char* action : {"suspend", "resume"}) {
    INFO(action);
    HttpResponse r = stack.Api("POST", "/v2.1/servers/" + id + "/action",
                               json{{action, json::object()}}.dump());
    CHECK(r.status == 409);
    CHECK(json::parse(r.body)["conflictingRequest"]["message"] ==
          "Feature not supported with instances that have shares.");
  }
  // Live migration says what the hosts lack (BEYOND.md section 4).
  HttpResponse live = stack.Api("POST", "/v2.1/servers/" + id + "/action",
                                R"({"os-migrateLive": {"host": null}})");
  CHECK(live.status == 409);
  const std::string why =
      json::parse(live.body)["conflictingRequest"]["message"];
  CHECK_THAT(why, Catch::Contains("needs QEMU >= 8.2, virtiofsd >= 1.11 "
                                  "(--migration-mode) and libvirt >= 10.5"));
  CHECK_THAT(why, Catch::Contains("host hv1 has TEST"));

  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"reboot": {"type": "HARD"}})")
              .status == 202);
  REQUIRE(WaitUntil([&] {
    return StatusIs(stack, id, "ACTIVE") &&
           Server(stack, id)["OS-EXT-STS:task_state"].is_null();
  }));
  CHECK(stack.ShareStatus(id, share) == "active");

  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"os-stop": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "SHUTOFF"); }));
  CHECK(stack.ShareStatus(id, share) == "inactive");

  // The instance actions tell the story.
  HttpResponse actions =
      stack.Api("GET", "/v2.1/servers/" + id + "/os-instance-actions");
  REQUIRE(actions.status == 200);
  std::vector<std::string> names;
  const json listed = json::parse(actions.body);
  for (const auto& a : listed["instanceActions"]) {
    names.push_back(a["action"]);
  }
  CHECK(names == std::vector<std::string>{"stop", "reboot", "start",
                                          "attach_share", "stop", "create"});

  // Delete detaches the share (its access rule goes) and the server goes.
  HttpResponse d = stack.Api("DELETE", "/v2.1/servers/" + id);
  CHECK(d.status == 204);
  REQUIRE(WaitUntil([&] { return Server(stack, id)["status"] == "HTTP 404"; }));
  // Revocation is asynchronous in Manila: the rule goes shortly after.
  CHECK(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
}

TEST_CASE("a server that fits no host is created in ERROR",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  REQUIRE(stack
              .Api("POST", "/v2.1/flavors",
                   R"({"flavor": {"name": "huge", "ram": 999999, "vcpus": 1,
                        "disk": 0}})",
                   "admin:admin")
              .status == 200);
  stack.CreateServer("hv1");  // registers hv1 with 16 GiB
  HttpResponse c =
      stack.Api("POST", "/v2.1/servers",
                R"({"server": {"name": "big", "flavorRef": "huge"}})");
  REQUIRE(c.status == 202);
  const std::string id = json::parse(c.body)["server"]["id"];
  CHECK(Server(stack, id)["status"] == "ERROR");
  // Never placed: nothing to stop or reboot (Nova's check_instance_host).
  for (const char* action :
       {R"({"os-stop": null})", R"({"reboot": {"type": "HARD"}})"}) {
    HttpResponse r =
        stack.Api("POST", "/v2.1/servers/" + id + "/action", action);
    CHECK(r.status == 409);
    CHECK_THAT(r.body, Catch::Contains("Instance " + id + " is not ready"));
  }
  HttpResponse bad =
      stack.Api("POST", "/v2.1/servers",
                R"({"server": {"name": "x", "flavorRef": "nope"}})");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["badRequest"]["message"] ==
        "Flavor nope could not be found.");
  HttpResponse extra = stack.Api(
      "POST", "/v2.1/servers",
      R"({"server": {"name": "x", "flavorRef": "huge", "colour": "red"}})");
  CHECK(extra.status == 400);
  // Another project's server is a 404, and so is an admin-only listing.
  CHECK(Server(stack, id, "eve:other")["status"] == "HTTP 404");
  CHECK(stack.Api("GET", "/v2.1/os-services").status == 403);
  HttpResponse services = stack.Api("GET", "/v2.1/os-services", "", "admin:x");
  REQUIRE(services.status == 200);
  CHECK(json::parse(services.body)["services"][0]["binary"] ==
        "shareplane-compute");
}

TEST_CASE("server, flavor and host routes answer Nova's errors",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const std::string stopped = stack.CreateServer();
  const std::string active = stack.CreateServer("hv1", "active");
  const std::string unknown = "11111111-2222-3333-4444-555555555555";
  // A host whose agent stopped sending heartbeats an hour ago.
  const std::string stranded = stack.CreateServer("hv-down");
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec(
                    "UPDATE compute_hosts SET last_heartbeat = now() - "
                    "interval '1 hour' WHERE hostname = 'hv-down'");
                return absl::OkStatus();
              })
              .ok());
  REQUIRE(stack
              .Api("POST", "/v2.1/flavors",
                   R"({"flavor": {"name": "m1.a", "ram": 128, "vcpus": 1,
                        "disk": 0}})",
                   "admin:admin")
              .status == 200);
  struct Case {
    std::string name, method, path, body, token;
    int code;
    std::string fault, message;
  };
  const std::string s = "/v2.1/servers/";
  std::vector<Case> cases = {
      {"unknown server", "GET", s + unknown, "", "alice:demo", 404,
       "itemNotFound", "Instance " + unknown + " could not be found."},
      {"other project", "GET", s + stopped, "", "eve:other", 404,
       "itemNotFound", "Instance " + stopped + " could not be found."},
      {"delete other project", "DELETE", s + stopped, "", "eve:other", 404,
       "itemNotFound", "could not be found"},
      {"start an active server", "POST", s + active + "/action",
       R"({"os-start": null})", "alice:demo", 409, "conflictingRequest",
       "Cannot 'start' instance " + active + " while it is in vm_state active"},
      {"start on a down host", "POST", s + stranded + "/action",
       R"({"os-start": null})", "alice:demo", 409, "conflictingRequest",
       "compute host hv-down is down"},
      {"soft reboot a stopped server", "POST", s + stopped + "/action",
       R"({"reboot": {"type": "SOFT"}})", "alice:demo", 409,
       "conflictingRequest", "while it is in vm_state stopped"},
      {"reboot without a type", "POST", s + stopped + "/action",
       R"({"reboot": {}})", "alice:demo", 400, "badRequest",
       "Invalid input for field/attribute reboot. Value: {}. 'type' is a "
       "required property"},
      {"unknown action", "POST", s + stopped + "/action", R"({"os-fly": {}})",
       "alice:demo", 400, "badRequest", "There is no such action: os-fly"},
      {"suspend without shares", "POST", s + stopped + "/action",
       R"({"suspend": null})", "alice:demo", 501, "notImplemented",
       "Action suspend is not implemented."},
      {"resize to an unknown flavor", "POST", s + stopped + "/action",
       R"({"resize": {"flavorRef": "m9.none"}})", "alice:demo", 400,
       "badRequest", "Flavor m9.none could not be found."},
      {"create without name", "POST", "/v2.1/servers",
       R"({"server": {"flavorRef": "m1.a"}})", "alice:demo", 400, "badRequest",
       "Invalid input for field/attribute server. Value: {'flavorRef': "
       "'m1.a'}. 'name' is a required property"},
      {"create in another zone", "POST", "/v2.1/servers",
       R"({"server": {"name": "x", "flavorRef": "m1.a",
           "availability_zone": "elsewhere"}})",
       "alice:demo", 400, "badRequest",
       "The requested availability zone is not available"},
      {"all tenants as a user", "GET", "/v2.1/servers?all_tenants=1", "",
       "alice:demo", 403, "forbidden",
       "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to "
       "be performed."},
      {"unknown flavor", "GET", "/v2.1/flavors/nope", "", "alice:demo", 404,
       "itemNotFound", "Flavor nope could not be found."},
      {"flavor create as a user", "POST", "/v2.1/flavors",
       R"({"flavor": {"name": "m1.b", "ram": 1, "vcpus": 1, "disk": 0}})",
       "alice:demo", 403, "forbidden",
       "Policy doesn't allow os_compute_api:os-flavor-manage:create to be "
       "performed."},
      {"flavor name taken", "POST", "/v2.1/flavors",
       R"({"flavor": {"name": "m1.a", "ram": 1, "vcpus": 1, "disk": 0}})",
       "admin:admin", 409, "conflictingRequest",
       "Flavor with name m1.a already exists."},
      {"extra specs as a user", "POST", "/v2.1/flavors/m1.a/os-extra_specs",
       R"({"extra_specs": {"hw:mem_page_size": "large"}})", "alice:demo", 403,
       "forbidden", "os-flavor-extra-specs:create"},
      {"hypervisors as a user", "GET", "/v2.1/os-hypervisors/detail", "",
       "alice:demo", 403, "forbidden", "os-hypervisors:list-detail"},
      {"unknown instance action", "GET",
       s + stopped + "/os-instance-actions/req-" + unknown, "", "alice:demo",
       404, "itemNotFound", "not found"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    HttpResponse r = stack.Api(c.method, c.path, c.body, c.token);
    CHECK(r.status == c.code);
    json body = json::parse(r.body, nullptr, false);
    REQUIRE(body.contains(c.fault));
    CHECK(body[c.fault]["code"] == c.code);
    CHECK(body[c.fault]["message"].get<std::string>().find(c.message) !=
          std::string::npos);
  }

  // The happy paths of the same routes.
  HttpResponse specs = stack.Api(
      "POST", "/v2.1/flavors/m1.a/os-extra_specs",
      R"({"extra_specs": {"trait:COMPUTE_STORAGE_VIRTIO_FS": "required"}})",
      "admin:admin");
  CHECK(specs.status == 200);
  const std::string key = "/v2.1/flavors/m1.a/os-extra_specs/hw:mem_page_size";
  CHECK(stack.Api("PUT", key, R"({"hw:mem_page_size": "large"})").status ==
        403);
  HttpResponse put =
      stack.Api("PUT", key, R"({"hw:mem_page_size": "large"})", "admin:admin");
  CHECK(put.status == 200);
  CHECK(json::parse(put.body)["hw:mem_page_size"] == "large");
  CHECK(json::parse(stack.Api("GET", key).body)["hw:mem_page_size"] == "large");
  CHECK(stack.Api("DELETE", key, "", "admin:admin").status == 200);
  HttpResponse gone = stack.Api("GET", key);
  CHECK(gone.status == 404);
  CHECK(json::parse(gone.body)["itemNotFound"]["message"] ==
        "Flavor m1.a has no extra specs with key hw:mem_page_size.");
  json flavor = json::parse(stack.Api("GET", "/v2.1/flavors/m1.a").body);
  CHECK(flavor["flavor"]["extra_specs"]["trait:COMPUTE_STORAGE_VIRTIO_FS"] ==
        "required");
  json list = json::parse(stack.Api("GET", "/v2.1/servers").body);
  CHECK(list["servers"].size() == 3);
  CHECK(list["servers"][0].contains("links"));
  json detail = json::parse(stack.Api("GET", "/v2.1/servers/detail").body);
  CHECK(detail["servers"].size() == 3);
  CHECK(json::parse(
            stack.Api("GET", "/v2.1/servers", "", "eve:other").body)["servers"]
            .empty());
  json all = json::parse(
      stack.Api("GET", "/v2.1/servers?all_tenants=1", "", "admin:admin").body);
  CHECK(all["servers"].size() == 3);
  json hypervisors = json::parse(
      stack.Api("GET", "/v2.1/os-hypervisors/detail", "", "admin:admin").body);
  REQUIRE(hypervisors["hypervisors"].size() == 2);
  CHECK(hypervisors["hypervisors"][0]["hypervisor_hostname"] == "hv-down");
  CHECK(hypervisors["hypervisors"][0]["state"] == "down");
  CHECK(hypervisors["hypervisors"][1]["state"] == "up");
  CHECK(hypervisors["hypervisors"][1]["traits"].size() == 2);
  json flavors = json::parse(stack.Api("GET", "/v2.1/flavors/detail").body);
  CHECK(flavors["flavors"].size() == 2);
}

TEST_CASE("a start that meets a restarting agent waits for it, not ERROR",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  REQUIRE(stack
              .Api("POST", "/v2.1/flavors",
                   R"({"flavor": {"name": "m1.tiny", "ram": 256, "vcpus": 1,
                       "disk": 1}})",
                   "admin:admin")
              .status == 200);
  HttpResponse c = stack.Api(
      "POST", "/v2.1/servers",
      R"({"server": {"name": "vm1", "flavorRef": "m1.tiny", "networks": "none"}})");
  REQUIRE(c.status == 202);
  const std::string id = json::parse(c.body)["server"]["id"];
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); }));
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"os-stop": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "SHUTOFF"); }));
  // The agent goes away; the start reaches the conductor meanwhile, which
  // finds the agent unreachable ("failed to connect to all addresses")...
  stack.StopCompute();
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"os-start": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] {
    return stack.ConductorLog().find("PowerOn") != std::string::npos &&
           stack.ConductorLog().find("calling again") != std::string::npos;
  }));
  // ... and the agent is back: the start completes instead of ERROR.
  stack.StartCompute();
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); },
                    std::chrono::seconds(40)));
  CHECK(Server(stack, id)["OS-EXT-STS:vm_state"] == "active");
}
