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
  INFO(stack.Logs());
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

  // Actions that would move the server are refused while it has shares.
  for (const char* action : {"resize", "migrate", "os-migrateLive", "evacuate",
                             "shelve", "suspend", "resume", "rebuild"}) {
    INFO(action);
    HttpResponse r = stack.Api("POST", "/v2.1/servers/" + id + "/action",
                               json{{action, json::object()}}.dump());
    CHECK(r.status == 409);
    CHECK(json::parse(r.body)["conflictingRequest"]["message"] ==
          "Feature not supported with instances that have shares.");
  }

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
  CHECK(WaitUntil([&] {
    HttpResponse rules = Http(
        "GET", stack.manila_url() + "/share-access-rules?share_id=" + share,
        {{"X-Auth-Token", "admin:admin"}});
    return json::parse(rules.body)["access_list"].empty();
  }));
}

TEST_CASE("a server that fits no host is created in ERROR",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  INFO(stack.Logs());
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
