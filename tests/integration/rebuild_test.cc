// Rebuild of servers with shares (BEYOND.md section 4, where Nova answers
// 409): the domain is redefined from the new image with the same shares,
// the host's mounts stay mounted, the request is answered as Nova does, and
// a conductor killed at each step still finishes it.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

HttpResponse Rebuild(Stack& stack, const std::string& server,
                     const std::string& body) {
  return stack.Api("POST", "/v2.1/servers/" + server + "/action", body);
}

json ServerJson(Stack& stack, const std::string& id) {
  return json::parse(stack.Api("GET", "/v2.1/servers/" + id).body)["server"];
}

// A running server with one active share.
std::pair<std::string, std::string> RunningWithShare(Stack& stack) {
  const std::string server = stack.BootServer(/*stopped=*/true);
  const std::string share = stack.CreateShare();
  stack.AttachShare(server, share);
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + server + "/action",
                   R"({"os-start": null})")
              .status == 202);
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(server, share) == "active"; }));
  return {server, share};
}

}  // namespace

TEST_CASE("a server rebuilds with its shares and its mounts kept",
          "[integration][e2e]") {
  const std::string exchange = UniqueName("rebuild-nova");
  Stack stack("[notifications]\nexchange = " + exchange + "\n");
  NotificationListener listener(exchange);
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const auto running = RunningWithShare(stack);
  const std::string server = running.first, share = running.second;
  const std::vector<std::string> points = stack.MountPoints();
  REQUIRE(points.size() == 1);

  HttpResponse r = Rebuild(stack, server,
                           R"({"rebuild": {"imageRef": "image-2",
                               "name": "rebuilt"}})");
  REQUIRE(r.status == 202);
  json shown = json::parse(r.body)["server"];
  CHECK(shown["id"] == server);
  CHECK(shown["status"] == "REBUILD");
  CHECK(shown["image"]["id"] == "image-2");
  CHECK(shown["name"] == "rebuilt");
  CHECK_FALSE(shown["adminPass"].get<std::string>().empty());
  REQUIRE(WaitUntil([&] { return stack.ServerStatus(server) == "ACTIVE"; }));
  CHECK(ServerJson(stack, server)["image"]["id"] == "image-2");
  CHECK(stack.ShareStatus(server, share) == "active");
  // The same mount, never unmounted in between.
  CHECK(stack.MountPoints() == points);
  CHECK_FALSE(absl::StrContains(stack.Logs(), "Unmounted"));
  agent::v1::HostState host = stack.HostState();
  REQUIRE(host.mounts_size() == 1);
  CHECK(host.mounts(0).server_uuids(0) == server);

  json events = json::parse(
      stack
          .Api("GET", "/v2.1/servers/" + server + "/os-instance-actions/" +
                          r.Header("x-openstack-request-id"))
          .body)["instanceAction"];
  CHECK(events["action"] == "rebuild");
  REQUIRE(events["events"].size() == 1);
  CHECK(events["events"][0]["event"] == "compute_rebuild_instance");
  CHECK(events["events"][0]["result"] == "Success");
  REQUIRE(WaitUntil([&] {
    const auto types = listener.EventTypes();
    return std::find(types.begin(), types.end(), "instance.rebuild.end") !=
           types.end();
  }));
  const auto types = listener.EventTypes();
  CHECK(std::find(types.begin(), types.end(), "instance.rebuild.start") <
        std::find(types.begin(), types.end(), "instance.rebuild.end"));

  // A stopped server stays stopped, with its new image and shares.
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + server + "/action",
                   R"({"os-stop": null})")
              .status == 202);
  REQUIRE(WaitUntil([&] { return stack.ServerStatus(server) == "SHUTOFF"; }));
  REQUIRE(Rebuild(stack, server, R"({"rebuild": {"imageRef": "image-3"}})")
              .status == 202);
  REQUIRE(WaitUntil([&] {
    json s = ServerJson(stack, server);
    return s["status"] == "SHUTOFF" && s["OS-EXT-STS:task_state"].is_null();
  }));
  CHECK(ServerJson(stack, server)["image"]["id"] == "image-3");
  CHECK(stack.ShareStatus(server, share) == "inactive");
}

TEST_CASE("rebuild refuses what Nova refuses", "[integration]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor("", "attach.notified");
  stack.StartCompute();
  stack.StartApi();
  const std::string server = stack.BootServer(/*stopped=*/true);
  HttpResponse no_image = Rebuild(stack, server, R"({"rebuild": {}})");
  CHECK(no_image.status == 400);
  CHECK_THAT(no_image.body,
             Catch::Contains("'imageRef' is a required property"));
  HttpResponse extra =
      Rebuild(stack, server, R"({"rebuild": {"imageRef": "i", "x": 1}})");
  CHECK(extra.status == 400);
  // A share between states blocks it, as it blocks every lifecycle action.
  const std::string share = stack.CreateShare();
  REQUIRE(
      stack
          .Api("POST", "/v2.1/servers/" + server + "/shares", AttachBody(share))
          .status == 201);
  REQUIRE(stack.WaitPaused("attach.notified"));
  HttpResponse busy =
      Rebuild(stack, server, R"({"rebuild": {"imageRef": "image-2"}})");
  CHECK(busy.status == 409);
  CHECK_THAT(busy.body,
             Catch::Contains("while share " + share + " is attaching"));
  stack.Resume("attach.notified");
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));
  // Once it is not: a rebuild during a rebuild is 409 with the task state.
  REQUIRE(Rebuild(stack, server, R"({"rebuild": {"imageRef": "image-2"}})")
              .status == 202);
  HttpResponse again =
      Rebuild(stack, server, R"({"rebuild": {"imageRef": "image-3"}})");
  if (again.status != 202) {  // unless the first one already finished
    CHECK(again.status == 409);
    CHECK_THAT(again.body, Catch::Contains("task_state rebuilding"));
  }
}

TEST_CASE("a conductor killed at each step of a rebuild finishes it",
          "[integration]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const auto running = RunningWithShare(stack);
  const std::string server = running.first, share = running.second;
  int n = 0;
  for (const std::string point : {"rebuild.notified", "rebuild.agent_called"}) {
    INFO("crash point " << point);
    stack.StopConductor();
    stack.StartConductor(point);
    const std::string image = "image-" + std::to_string(++n);
    REQUIRE(
        Rebuild(stack, server, json{{"rebuild", {{"imageRef", image}}}}.dump())
            .status == 202);
    REQUIRE(WaitUntil([&] { return !stack.ConductorRunning(); }));
    REQUIRE(absl::StrContains(stack.ConductorLog(),
                              "Crash point " + point + " reached"));
    stack.StartConductor();
    REQUIRE(WaitUntil([&] {
      json s = ServerJson(stack, server);
      return s["status"] == "ACTIVE" && s["OS-EXT-STS:task_state"].is_null();
    }));
    CHECK(ServerJson(stack, server)["image"]["id"] == image);
    CHECK(stack.ShareStatus(server, share) == "active");
    CHECK(stack.MountPoints().size() == 1);
    CHECK(stack.ManilaRules(share).size() == 1);
  }
}
