// Versioned notifications through the real daemons: the events of attach,
// start, stop and detach reach a queue bound to the topic exchange, in
// oslo.messaging's envelope, with Nova's payload shapes.
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/amqp/amqp_bus.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

json SampleInstanceKeys() {
  std::ifstream in(std::string(SHAREPLANE_SOURCE_DIR) +
                   "/tests/data/notification_samples/InstancePayload.json");
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str())["nova_object.data"];
}

}  // namespace

TEST_CASE("attach, start, stop and detach emit versioned notifications",
          "[integration][e2e]") {
  const std::string exchange = UniqueName("test-nova");
  Stack stack("[notifications]\nexchange = " + exchange +
              "\ninclude_share_mapping = true\n");
  NotificationListener listener(exchange);
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string server = stack.CreateServer("hv1");
  const std::string share = stack.CreateShare();
  const std::string base = "/v2.1/servers/" + server;
  REQUIRE(
      stack
          .Api("POST", base + "/shares",
               json{{"share", {{"share_id", share}, {"tag", "data"}}}}.dump(),
               "alice:demo")
          .status == 201);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));
  REQUIRE(stack.Api("POST", base + "/action", R"({"os-start": null})").status ==
          202);
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(server, share) == "active"; }));
  REQUIRE(stack.Api("POST", base + "/action", R"({"os-stop": null})").status ==
          202);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));
  REQUIRE(stack.Api("DELETE", base + "/shares/" + share).status == 200);
  const std::vector<std::string> expected = {
      "instance.share_attach.start", "instance.share_attach.end",
      "instance.power_on.start",     "instance.power_on.end",
      "instance.power_off.start",    "instance.power_off.end",
      "instance.share_detach.start", "instance.share_detach.end"};
  REQUIRE(WaitUntil([&] { return listener.EventTypes().size() >= 8; }));
  CHECK(listener.EventTypes() == expected);

  json attach_end = listener.Message("instance.share_attach.end");
  CHECK(attach_end["priority"] == "INFO");
  CHECK(attach_end["publisher_id"].get<std::string>().rfind(
            "shareplane-conductor:", 0) == 0);
  json payload = attach_end["payload"];
  CHECK(payload["nova_object.name"] == "InstanceActionSharePayload");
  json data = payload["nova_object.data"];
  CHECK(data["share_id"] == share);
  CHECK(data["uuid"] == server);
  CHECK(data["fault"].is_null());
  const json sample = SampleInstanceKeys();
  for (auto& [key, value] : sample.items()) {
    INFO(key);
    CHECK(data.contains(key));
  }
  REQUIRE(data["shares"].size() == 1);
  json mapping = data["shares"][0]["nova_object.data"];
  CHECK(mapping["share_id"] == share);
  CHECK(mapping["tag"] == "data");
  CHECK(mapping["status"] == "inactive");
  CHECK_FALSE(mapping.contains("export_location"));

  json power_on = listener.Message("instance.power_on.end");
  CHECK(power_on["payload"]["nova_object.data"]["shares"][0]["nova_object.data"]
                ["status"] == "active");
  CHECK(power_on["payload"]["nova_object.data"]["power_state"] == "running");
}

TEST_CASE("server create and delete emit versioned notifications",
          "[integration][e2e]") {
  const std::string exchange = UniqueName("test-nova");
  Stack stack("[notifications]\nexchange = " + exchange + "\n");
  NotificationListener listener(exchange);
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
  REQUIRE(WaitUntil([&] { return listener.EventTypes().size() >= 2; }));
  REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + id).status == 204);
  REQUIRE(WaitUntil([&] { return listener.EventTypes().size() >= 4; }));
  CHECK(listener.EventTypes() ==
        std::vector<std::string>{"instance.create.start", "instance.create.end",
                                 "instance.delete.start",
                                 "instance.delete.end"});
  json created = listener.Message("instance.create.end")["payload"];
  CHECK(created["nova_object.name"] == "InstanceCreatePayload");
  CHECK(created["nova_object.data"]["uuid"] == id);
  CHECK(created["nova_object.data"]["state"] == "active");
  CHECK(created["nova_object.data"]["power_state"] == "running");
  json deleted =
      listener.Message("instance.delete.end")["payload"]["nova_object.data"];
  CHECK(deleted["state"] == "deleted");
  CHECK(deleted["deleted_at"].is_string());
}
