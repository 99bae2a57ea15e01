// Shares on running servers (BEYOND.md sections 2 and 3) through the real
// daemons, with the agent on its libvirt twin (twin_hypervisor.h): libvirt's
// test driver refuses device hot-plug, and the QEMU guests of guest_test.cc
// cost seconds each. Every transition of live attach and detach, a failed
// hot-plug, a guest that holds on past the unplug timeout, the 409s, and
// the access levels of read-only attachments against the emulator.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api-service/metadata_api.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

// The agent on the twin, steered from `dir`; unplugs wait 1 s.
std::string TwinConfig(const std::string& dir, const std::string& extra = "") {
  return absl::StrCat("[compute]\nhypervisor_driver = twin\n",
                      "hypervisor_twin_dir = ", dir,
                      "\nhot_unplug_timeout = 1\n", extra);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Whether the running domain of `server` has a filesystem tagged `tag`.
bool LiveHas(const std::string& dir, const std::string& server,
             const std::string& tag) {
  return absl::StrContains(Slurp(dir + "/instance-" + server + ".live.xml"),
                           "<target dir='" + tag + "'/>");
}

json ShareBody(const std::string& share, const std::string& tag,
               const std::string& level = "") {
  json share_json = {{"share_id", share}, {"tag", tag}};
  if (!level.empty()) share_json["access_level"] = level;
  return json{{"share", share_json}};
}

// The events of the request's action once it has one, as an admin sees
// them (with their details).
json Events(Stack& stack, const std::string& server,
            const std::string& request_id) {
  json events;
  WaitUntil([&] {
    HttpResponse r = stack.Api(
        "GET", "/v2.1/servers/" + server + "/os-instance-actions/" + request_id,
        "", "admin:admin");
    if (r.status != 200) return false;
    events = json::parse(r.body)["instanceAction"]["events"];
    return !events.empty();
  });
  return events;
}

struct LiveStack {
  std::string dir = NewTempDir("twin");
  Stack stack;
  explicit LiveStack(const std::string& extra = "",
                     const std::vector<std::string>& emulator_flags = {},
                     const std::string& pause_at = "")
      : stack(TwinConfig(dir, extra)) {
    stack.StartEmulator(30, emulator_flags);
    stack.StartConductor("", pause_at);
    stack.StartCompute();
    stack.StartApi();
  }
  HttpResponse Attach(const std::string& server, const std::string& share,
                      const std::string& tag, const std::string& level = "") {
    return stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                     ShareBody(share, tag, level).dump());
  }
  HttpResponse Detach(const std::string& server, const std::string& share) {
    return stack.Api("DELETE", "/v2.1/servers/" + server + "/shares/" + share);
  }
  bool Reaches(const std::string& server, const std::string& share,
               const std::string& status) {
    return WaitUntil(
        [&] { return stack.ShareStatus(server, share) == status; });
  }
  // The one rule of `share` (its level and id), "" when none.
  std::pair<std::string, std::string> Rule(const std::string& share) {
    json rules = stack.ManilaRules(share);
    if (rules.size() != 1) return {"", ""};
    return {rules[0]["access_level"], rules[0]["id"]};
  }
};

}  // namespace

TEST_CASE("a share attaches to and detaches from a running server",
          "[integration][live]") {
  const std::string exchange = UniqueName("live-nova");
  LiveStack live("[notifications]\nexchange = " + exchange + "\n", {},
                 "attach.rule_active,detach.unplugged");
  NotificationListener listener(exchange);
  Stack& stack = live.stack;
  const std::string server = stack.BootServer();
  const std::string share = stack.CreateShare();

  // attaching: granted in Manila, not yet in the guest.
  HttpResponse a = live.Attach(server, share, "data");
  REQUIRE(a.status == 201);
  CHECK(json::parse(a.body)["share"]["status"] == "attaching");
  REQUIRE(stack.WaitPaused("attach.rule_active"));
  CHECK(stack.ShareStatus(server, share) == "attaching");
  CHECK_FALSE(LiveHas(live.dir, server, "data"));
  // A detach racing the hot-plug would unplug nothing and then revoke
  // under the guest: 409 until the attach ends.
  HttpResponse early = live.Detach(server, share);
  CHECK(early.status == 409);
  CHECK_THAT(early.body,
             Catch::Contains("while share " + share + " is attaching"));
  stack.Resume("attach.rule_active");
  // active: in the running domain, mounted on the host.
  REQUIRE(live.Reaches(server, share, "active"));
  CHECK(LiveHas(live.dir, server, "data"));
  CHECK(stack.MountPoints().size() == 1);
  CHECK(stack.ServerStatus(server) == "ACTIVE");
  // No access_level for a read-write attachment: Nova's body.
  CHECK_FALSE(
      json::parse(
          stack.Api("GET", "/v2.1/servers/" + server + "/shares/" + share)
              .body)["share"]
          .contains("access_level"));

  // The guest's metadata lists it at once.
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Instance-ID", server},
      {"X-Instance-ID-Signature",
       MetadataSignature("test-metadata-secret", server)},
      {"X-Tenant-ID", "demo"}};
  HttpResponse md =
      Http("GET", stack.metadata_url() + "/openstack/latest/meta_data.json",
           headers);
  REQUIRE(md.status == 200);
  json devices = json::parse(md.body)["devices"];
  REQUIRE(devices.size() == 1);
  CHECK(devices[0]["share_id"] == share);
  CHECK(devices[0]["tag"] == "data");

  // detaching: out of the guest and unmounted before anything is revoked.
  REQUIRE(live.Detach(server, share).status == 200);
  REQUIRE(stack.WaitPaused("detach.unplugged"));
  CHECK(stack.ShareStatus(server, share) == "detaching");
  CHECK_FALSE(LiveHas(live.dir, server, "data"));
  CHECK(stack.MountPoints().empty());
  CHECK(stack.ManilaRules(share).size() == 1);
  stack.Resume("detach.unplugged");
  REQUIRE(live.Reaches(server, share, ""));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  CHECK(stack.ServerStatus(server) == "ACTIVE");

  // The notifications of a stopped server's attach and detach.
  const std::vector<std::string> expected = {
      "instance.share_attach.start", "instance.share_attach.end",
      "instance.share_detach.start", "instance.share_detach.end"};
  std::vector<std::string> shares_events;
  REQUIRE(WaitUntil([&] {
    shares_events.clear();
    for (const std::string& t : listener.EventTypes()) {
      if (absl::StrContains(t, "share_")) shares_events.push_back(t);
    }
    return shares_events.size() >= expected.size();
  }));
  CHECK(shares_events == expected);
}

TEST_CASE("a failed hot-plug puts the share in error; the guest runs on",
          "[integration][live]") {
  LiveStack live;
  Stack& stack = live.stack;
  const std::string server = stack.BootServer();
  const std::string share = stack.CreateShare();
  std::ofstream(live.dir + "/fail-attach")
      << "internal error: No more available PCI slots";
  HttpResponse a = live.Attach(server, share, "data");
  REQUIRE(a.status == 201);
  REQUIRE(live.Reaches(server, share, "error"));
  json events = Events(stack, server, a.Header("x-openstack-request-id"));
  REQUIRE(events.size() == 1);
  CHECK(events[0]["result"] == "Error");
  CHECK(absl::StrContains(events[0].dump(), "No more available PCI slots"));
  CHECK(stack.ServerStatus(server) == "ACTIVE");
  CHECK_FALSE(LiveHas(live.dir, server, "data"));
  CHECK(stack.MountPoints().empty());  // nothing left mounted for it

  // Detaching the errored share revokes what was granted.
  std::filesystem::remove(live.dir + "/fail-attach");
  REQUIRE(live.Detach(server, share).status == 200);
  REQUIRE(live.Reaches(server, share, ""));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
}

TEST_CASE("a device the guest holds past hot_unplug_timeout stays active",
          "[integration][live]") {
  LiveStack live;
  Stack& stack = live.stack;
  const std::string server = stack.BootServer();
  const std::string share = stack.CreateShare();
  REQUIRE(live.Attach(server, share, "data").status == 201);
  REQUIRE(live.Reaches(server, share, "active"));

  std::ofstream(live.dir + "/stuck-detach") << "";
  HttpResponse d = live.Detach(server, share);
  REQUIRE(d.status == 200);
  REQUIRE(live.Reaches(server, share, "active"));
  json events = Events(stack, server, d.Header("x-openstack-request-id"));
  REQUIRE(events.size() == 1);
  CHECK(events[0]["event"] == "compute_detach_share");
  CHECK(events[0]["result"] == "Error");
  CHECK(absl::StrContains(events[0].dump(), "still in the running server"));
  // Nothing revoked or unmounted while the domain has the device.
  CHECK(LiveHas(live.dir, server, "data"));
  CHECK(stack.MountPoints().size() == 1);
  CHECK(stack.ManilaRules(share).size() == 1);

  // Once the guest lets go, a second detach finishes.
  std::filesystem::remove(live.dir + "/stuck-detach");
  REQUIRE(live.Detach(server, share).status == 200);
  REQUIRE(live.Reaches(server, share, ""));
  CHECK_FALSE(LiveHas(live.dir, server, "data"));
  CHECK(stack.MountPoints().empty());
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
}

TEST_CASE("running servers answer Nova's 409 without the hot-plug trait",
          "[integration][live]") {
  const std::string expected = "while it is in vm_state active";
  SECTION("a host on libvirt's test driver") {
    Stack stack;  // test:///default: no CUSTOM_VIRTIOFS_HOTPLUG
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartCompute();
    stack.StartApi();
    const std::string server = stack.BootServer(/*stopped=*/true);
    const std::string share = stack.CreateShare();
    stack.AttachShare(server, share);
    REQUIRE(stack
                .Api("POST", "/v2.1/servers/" + server + "/action",
                     R"({"os-start": null})")
                .status == 202);
    REQUIRE(WaitUntil([&] { return stack.ServerStatus(server) == "ACTIVE"; }));
    HttpResponse a = stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                               ShareBody(stack.CreateShare(), "x").dump());
    CHECK(a.status == 409);
    CHECK(absl::StrContains(a.body, "Cannot 'create share' instance"));
    CHECK(absl::StrContains(a.body, expected));
    HttpResponse d =
        stack.Api("DELETE", "/v2.1/servers/" + server + "/shares/" + share);
    CHECK(d.status == 409);
    CHECK(absl::StrContains(d.body, "Cannot 'delete share' instance"));
  }
  SECTION("[api] live_share_attach = false") {
    LiveStack live("[api]\nlive_share_attach = false\n");
    const std::string server = live.stack.BootServer();
    HttpResponse a = live.Attach(server, live.stack.CreateShare(), "x");
    CHECK(a.status == 409);
    CHECK(absl::StrContains(a.body, expected));
  }
}

TEST_CASE("read-only attachments set the host's rule level with no gap",
          "[integration][live]") {
  LiveStack live;
  Stack& stack = live.stack;
  const std::string a = stack.BootServer(), b = stack.BootServer();
  const std::string share = stack.CreateShare();
  // A watcher: the host's rule never disappears and is never replaced.
  std::atomic<bool> stop{false};
  std::atomic<int> gaps{0};
  std::string first_id;
  auto watch = [&] {
    while (!stop) {
      auto [level, id] = live.Rule(share);
      if (!first_id.empty() && id != first_id) ++gaps;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };

  SECTION("ro, then rw on the same host, then the last rw leaves") {
    REQUIRE(live.Attach(a, share, "ro", "ro").status == 201);
    REQUIRE(live.Reaches(a, share, "active"));
    json shown = json::parse(
        stack.Api("GET", "/v2.1/servers/" + a + "/shares/" + share).body);
    CHECK(shown["share"]["access_level"] == "ro");
    json listed =
        json::parse(stack.Api("GET", "/v2.1/servers/" + a + "/shares").body);
    CHECK(listed["shares"][0]["access_level"] == "ro");
    CHECK(live.Rule(share).first == "ro");
    std::vector<std::string> points = stack.MountPoints();
    REQUIRE(points.size() == 1);
    CHECK(absl::EndsWith(points[0], "-ro"));
    first_id = live.Rule(share).second;
    std::thread watcher(watch);

    REQUIRE(live.Attach(b, share, "rw").status == 201);
    REQUIRE(live.Reaches(b, share, "active"));
    CHECK(live.Rule(share) == std::make_pair(std::string("rw"), first_id));
    CHECK(stack.MountPoints().size() == 2);  // a rw and a ro mount

    REQUIRE(live.Detach(b, share).status == 200);
    REQUIRE(live.Reaches(b, share, ""));
    REQUIRE(WaitUntil([&] { return live.Rule(share).first == "ro"; }));
    CHECK(live.Rule(share).second == first_id);
    CHECK(stack.MountPoints().size() == 1);
    CHECK(live.stack.ShareStatus(a, share) == "active");
    stop = true;
    watcher.join();
    CHECK(gaps == 0);
  }
  SECTION("rw, then ro: the rule stays rw until the rw one leaves") {
    REQUIRE(live.Attach(a, share, "rw").status == 201);
    REQUIRE(live.Reaches(a, share, "active"));
    first_id = live.Rule(share).second;
    std::thread watcher(watch);
    REQUIRE(live.Attach(b, share, "ro", "ro").status == 201);
    REQUIRE(live.Reaches(b, share, "active"));
    CHECK(live.Rule(share).first == "rw");
    CHECK(stack.MountPoints().size() == 2);  // a rw and a ro mount
    REQUIRE(live.Detach(a, share).status == 200);
    REQUIRE(live.Reaches(a, share, ""));
    REQUIRE(WaitUntil([&] { return live.Rule(share).first == "ro"; }));
    const std::vector<std::string> left = stack.MountPoints();
    REQUIRE(left.size() == 1);
    CHECK(absl::EndsWith(left[0], "-ro"));
    stop = true;
    watcher.join();
    CHECK(gaps == 0);
    REQUIRE(live.Detach(b, share).status == 200);
    REQUIRE(live.Reaches(b, share, ""));
    REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  }
}

TEST_CASE("without Manila 2.88 a rw attach next to a ro one in use is 409",
          "[integration][live]") {
  LiveStack live("", {"--max_microversion=2.82"});
  Stack& stack = live.stack;
  const std::string a = stack.BootServer(), b = stack.BootServer();
  const std::string share = stack.CreateShare();
  REQUIRE(live.Attach(a, share, "ro", "ro").status == 201);
  REQUIRE(live.Reaches(a, share, "active"));
  HttpResponse r = live.Attach(b, share, "rw");
  CHECK(r.status == 409);
  CHECK(absl::StrContains(r.body, "microversion 2.88"));
  // Another read-only one is fine: the rule stays as it is.
  REQUIRE(live.Attach(b, share, "ro", "ro").status == 201);
  REQUIRE(live.Reaches(b, share, "active"));
  CHECK(live.Rule(share).first == "ro");
}

TEST_CASE("a conductor killed at any step of a live attach or detach",
          "[integration][live]") {
  LiveStack live;
  Stack& stack = live.stack;
  const std::string server = stack.BootServer();
  const std::string share = stack.CreateShare();
  // Restarts the conductor armed to die at `point`, runs `request`, waits
  // for the crash, and starts a healthy one, which finishes the task.
  auto crash_at = [&](const std::string& point,
                      const std::function<void()>& request) {
    stack.StopConductor();
    stack.StartConductor(point);
    request();
    INFO("crash point " << point);
    REQUIRE(WaitUntil([&] { return !stack.ConductorRunning(); }));
    REQUIRE(absl::StrContains(stack.ConductorLog(),
                              "Crash point " + point + " reached"));
    stack.StartConductor();
  };
  const std::vector<std::pair<std::string, std::string>> points = {
      {"attach.notified", "detach.notified"},
      {"attach.rule_active", "detach.unplugged"},
      {"attach.hot_plugged", "detach.revoke_requested"}};
  for (const auto& [attach_point, detach_point] : points) {
    crash_at(attach_point, [&] {
      REQUIRE(live.Attach(server, share, "data").status == 201);
    });
    REQUIRE(live.Reaches(server, share, "active"));
    // In the guest once, mounted once, one rule.
    const std::string xml =
        Slurp(live.dir + "/instance-" + server + ".live.xml");
    CHECK(xml.find("<target dir='data'/>") ==
          xml.rfind("<target dir='data'/>"));
    CHECK(LiveHas(live.dir, server, "data"));
    CHECK(stack.MountPoints().size() == 1);
    CHECK(stack.ManilaRules(share).size() == 1);

    crash_at(detach_point,
             [&] { REQUIRE(live.Detach(server, share).status == 200); });
    REQUIRE(live.Reaches(server, share, ""));
    CHECK_FALSE(LiveHas(live.dir, server, "data"));
    CHECK(stack.MountPoints().empty());
    REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
    CHECK(stack.ServerStatus(server) == "ACTIVE");
  }
}

TEST_CASE("shareplane server add share works on a running server",
          "[integration][live]") {
  LiveStack live;
  Stack& stack = live.stack;
  const std::string server = stack.BootServer();
  const std::string share = stack.CreateShare();
  const std::map<std::string, std::string> env = {
      {"HOME", NewTempDir("cli-home")},
      {"OS_AUTH_TYPE", "noauth"},
      {"OS_ENDPOINT", stack.api_url() + "/v2.1"},
      {"OS_USERNAME", "alice"},
      {"OS_PROJECT_NAME", "demo"}};
  auto shareplane = [&](std::vector<std::string> args) {
    args.insert(args.begin(), BinaryPath("cli/shareplane"));
    return RunCommand("shareplane", args, env);
  };
  CommandResult added =
      shareplane({"server", "add", "share", server, share, "--tag", "data",
                  "--read-only", "--wait", "-f", "json"});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  json shown = json::parse(added.out);
  CHECK(shown["status"] == "active");
  CHECK(shown["access_level"] == "ro");
  CHECK(LiveHas(live.dir, server, "data"));
  CHECK(live.Rule(share).first == "ro");
  CommandResult removed =
      shareplane({"server", "remove", "share", server, share, "--wait"});
  INFO(removed.err);
  REQUIRE(removed.exit_code == 0);
  CHECK(stack.ShareStatus(server, share).empty());
  CHECK_FALSE(LiveHas(live.dir, server, "data"));

  // A guest that holds on: --wait says so instead of waiting forever.
  REQUIRE(live.Attach(server, share, "data").status == 201);
  REQUIRE(live.Reaches(server, share, "active"));
  std::ofstream(live.dir + "/stuck-detach") << "";
  CommandResult held =
      shareplane({"server", "remove", "share", server, share, "--wait"});
  CHECK(held.exit_code != 0);
  CHECK(absl::StrContains(held.err, "active"));
}
