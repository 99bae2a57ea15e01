// OpenStack's own client against us: Debian's python3-openstackclient
// (the `openstack` command) authenticates with the fixture's Keystone, finds
// the compute endpoint in the catalog (a region of this test's own pointing
// at our API) and manages a server and flavors.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

const TestServices& Ks() { return TestServices::Get(); }

class OpenStackCli {
 public:
  OpenStackCli(std::string region, std::string home)
      : region_(std::move(region)), home_(std::move(home)) {}

  // Runs `openstack ARGS` as `user` of `project`; the result's out is its
  // standard output.
  CommandResult Run(const std::vector<std::string>& args,
                    const std::string& user = "alice",
                    const std::string& project = "demo",
                    const std::string& version = "2.92") {
    std::vector<std::string> argv = {"/usr/bin/openstack",
                                     "--os-compute-api-version", version};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand("openstack", argv, Env(user, project));
  }
  // The OS_* environment of `user` in `project`, as an openrc sets it.
  std::map<std::string, std::string> Env(const std::string& user,
                                         const std::string& project) {
    return {{"HOME", home_},
            {"OS_CLOUD", ""},
            {"OS_AUTH_TYPE", "password"},
            {"OS_AUTH_URL", Ks().keystone_url},
            {"OS_IDENTITY_API_VERSION", "3"},
            {"OS_USERNAME", user},
            {"OS_PASSWORD", Ks().keystone_password},
            {"OS_PROJECT_NAME", project},
            {"OS_USER_DOMAIN_NAME", "Default"},
            {"OS_PROJECT_DOMAIN_NAME", "Default"},
            {"OS_REGION_NAME", region_},
            {"OS_INTERFACE", "public"}};
  }
  // The same, REQUIREd to succeed, with -f json output decoded.
  json Json(std::vector<std::string> args, const std::string& user = "alice",
            const std::string& project = "demo") {
    args.insert(args.end(), {"-f", "json"});
    CommandResult r = Run(args, user, project);
    INFO("openstack " << args[0] << " " << args[1] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
  }

 private:
  std::string region_;
  std::string home_;
};

std::string KeystoneStackConfig() {
  return "[api]\nauth_strategy = keystone\n" +
         KeystoneServiceConfig("keystone_authtoken") +
         KeystoneServiceConfig("manila");
}

// The stack's daemons, the compute API registered in `region`'s catalog.
void StartInRegion(Stack& stack, const std::string& region,
                   const std::vector<std::string>& hosts) {
  RegisterKeystoneEndpoint(region, "compute", stack.api_url() + "/v2.1");
  // `server show` and `server list` build an image client up front (with
  // version discovery), so the catalog needs an image endpoint even for
  // servers without an image: the emulator's empty Glance stand-in.
  const std::string manila = stack.manila_url();
  RegisterKeystoneEndpoint(region, "image",
                           manila.substr(0, manila.rfind("/v2")) + "/image");
  stack.StartEmulator(30, {"--keystone_url=" + Ks().keystone_url});
  stack.StartConductor();
  for (const std::string& host : hosts) stack.StartCompute(host);
  stack.StartApi();
}

}  // namespace

TEST_CASE("the openstack command manages servers and flavors through us",
          "[integration][keystone]") {
  const std::string admin = KeystoneToken("admin", "admin");
  const std::string region = UniqueName("region");
  Stack stack(KeystoneStackConfig());
  StartInRegion(stack, region, {"hv1"});
  const std::string home = UniqueName("/tmp/osc-home");
  OpenStackCli osc(region, home);

  // Flavors: an admin creates, a member lists.
  json flavor = osc.Json({"flavor", "create", "--ram", "256", "--vcpus", "1",
                          "--disk", "1", "m1.tiny"},
                         "admin", "admin");
  CHECK(flavor["name"] == "m1.tiny");
  CHECK(flavor["ram"] == 256);
  CommandResult refused =
      osc.Run({"flavor", "create", "--ram", "64", "m1.nope"});
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("Policy doesn't allow"));
  json flavors = osc.Json({"flavor", "list"});
  REQUIRE(flavors.size() == 1);
  CHECK(flavors[0]["Name"] == "m1.tiny");
  CHECK(flavors[0]["VCPUs"] == 1);

  // A server of alice's, created through our API (there is no Glance or
  // Neutron for `server create` to look images and networks up in).
  HttpResponse created = Http(
      "POST", stack.api_url() + "/v2.1/servers",
      {{"X-Auth-Token", KeystoneToken("alice", "demo")},
       {"OpenStack-API-Version", "compute 2.92"}},
      R"({"server": {"name": "vm1", "flavorRef": "m1.tiny", "networks": "none"}})");
  REQUIRE(created.status == 202);
  const std::string id = json::parse(created.body)["server"]["id"];
  std::string last_error;
  auto status = [&] {
    CommandResult r =
        osc.Run({"server", "show", "vm1", "-f", "value", "-c", "status"});
    last_error = r.out + r.err;
    return r.exit_code == 0 ? r.out.substr(0, r.out.find('\n'))
                            : "exit " + std::to_string(r.exit_code);
  };
  if (!WaitUntil([&] { return status() == "ACTIVE"; },
                 std::chrono::seconds(60))) {
    FAIL("server show: " << last_error);
  }

  json servers = osc.Json({"server", "list"});
  REQUIRE(servers.size() == 1);
  CHECK(servers[0]["ID"] == id);
  CHECK(servers[0]["Name"] == "vm1");
  CHECK(servers[0]["Status"] == "ACTIVE");
  CHECK(servers[0]["Flavor"] == "m1.tiny");
  // Our own CLI reads the same OS_* variables and catalog.
  CommandResult ours =
      RunCommand("shareplane",
                 {BinaryPath("cli/shareplane"), "server", "list", "-f", "json"},
                 osc.Env("alice", "demo"));
  INFO(ours.err);
  REQUIRE(ours.exit_code == 0);
  CHECK(json::parse(ours.out)[0]["ID"] == id);
  // --debug shows the Keystone login and the compute calls, secrets masked.
  CommandResult debug = RunCommand(
      "shareplane", {BinaryPath("cli/shareplane"), "--debug", "server", "list"},
      osc.Env("alice", "demo"));
  CHECK(debug.exit_code == 0);
  CHECK_THAT(debug.err,
             Catch::Contains("REQ: curl -g -i -X POST " + Ks().keystone_url +
                             "/auth/tokens") &&
                 Catch::Contains(R"("password":"***")") &&
                 Catch::Contains("RESP: [201] X-Subject-Token: {SHA256}") &&
                 Catch::Contains("X-Auth-Token: {SHA256}") &&
                 Catch::Contains("/servers/detail"));
  CHECK(debug.err.find(Ks().keystone_password) == std::string::npos);
  json shown = osc.Json({"server", "show", id});
  CHECK(shown["id"] == id);
  CHECK(shown["name"] == "vm1");
  CHECK(shown["project_id"] == Ks().demo_project_id);
  // Nova's fields for every user (OSC printed None for them before).
  INFO(shown.dump());
  auto field = [&](const char* nova, const char* osc_name) {
    return shown.contains(nova) ? shown[nova] : shown.value(osc_name, json());
  };
  CHECK(field("OS-SRV-USG:launched_at", "launched_at").is_string());
  CHECK(field("OS-EXT-SRV-ATTR:hostname", "hostname") == "vm1");
  CHECK((shown.contains("locked_reason") && shown["locked_reason"].is_null()));
  // Events carry hostId (2.62), the same as the server's.
  CommandResult events = osc.Run(
      {"server", "event", "list", "vm1", "-f", "value", "-c", "Request ID"});
  REQUIRE(events.exit_code == 0);
  const std::string first = events.out.substr(0, events.out.find('\n'));
  CommandResult event =
      osc.Run({"server", "event", "show", "vm1", first, "-f", "json"});
  INFO(event.err);
  REQUIRE(event.exit_code == 0);
  CHECK_THAT(event.out,
             Catch::Contains(field("hostId", "host_id").get<std::string>()));
  // Another project does not see it; the admin does, everywhere.
  CHECK(osc.Json({"server", "list"}, "eve", "other").empty());
  CHECK(osc.Run({"server", "show", id}, "eve", "other").exit_code != 0);
  CHECK(
      osc.Json({"server", "list", "--all-projects"}, "admin", "admin").size() ==
      1);
  // A reader may look but not act.
  CHECK(osc.Run({"server", "stop", "vm1"}, "bob", "demo").exit_code != 0);

  CommandResult stop = osc.Run({"server", "stop", "vm1"});
  INFO(stop.err);
  CHECK(stop.exit_code == 0);
  REQUIRE(WaitUntil([&] { return status() == "SHUTOFF"; },
                    std::chrono::seconds(60)));
  CHECK(osc.Run({"server", "start", "vm1"}).exit_code == 0);
  REQUIRE(WaitUntil([&] { return status() == "ACTIVE"; },
                    std::chrono::seconds(60)));
  CommandResult deleted = osc.Run({"server", "delete", "--wait", "vm1"});
  INFO(deleted.err);
  CHECK(deleted.exit_code == 0);
  CHECK(osc.Json({"server", "list"}).empty());
  // The oldest microversion lists the same way.
  CommandResult old =
      osc.Run({"server", "list", "-f", "json"}, "alice", "demo", "2.1");
  CHECK(old.exit_code == 0);
}

TEST_CASE("the openstack command moves a server with a share",
          "[integration][keystone]") {
  const std::string region = UniqueName("region");
  Stack stack(KeystoneStackConfig());
  StartInRegion(stack, region, {"hv1", "hv2"});
  OpenStackCli osc(region, UniqueName("/tmp/osc-home"));
  for (const char* name : {"m1.tiny", "m1.small"}) {
    osc.Json({"flavor", "create", "--ram", "256", "--vcpus", "1", "--disk", "1",
              name},
             "admin", "admin");
  }
  const std::string token = KeystoneToken("alice", "demo");
  HttpResponse created = Http(
      "POST", stack.api_url() + "/v2.1/servers",
      {{"X-Auth-Token", token}, {"OpenStack-API-Version", "compute 2.97"}},
      R"({"server": {"name": "vm1", "flavorRef": "m1.tiny", "networks": "none"}})");
  REQUIRE(created.status == 202);
  const std::string id = json::parse(created.body)["server"]["id"];
  auto shown = [&](const std::string& field) {
    CommandResult r = osc.Run(
        {"server", "show", id, "-f", "value", "-c", field}, "admin", "admin");
    return r.exit_code == 0 ? r.out.substr(0, r.out.find('\n'))
                            : "exit " + std::to_string(r.exit_code);
  };
  auto settles = [&](const std::string& status) {
    return WaitUntil([&] { return shown("status") == status; },
                     std::chrono::seconds(60));
  };
  REQUIRE(settles("ACTIVE"));
  const std::string admin_token = KeystoneToken("admin", "admin");
  auto rules = [&](const std::string& share) {
    HttpResponse r = Http(
        "GET", stack.manila_url() + "/share-access-rules?share_id=" + share,
        {{"X-Auth-Token", admin_token},
         {"X-OpenStack-Manila-API-Version", "2.82"}});
    return r.status == 200 ? json::parse(r.body)["access_list"].size()
                           : size_t{999};
  };
  auto share_status = [&](const std::string& share) {
    HttpResponse r = Http(
        "GET", stack.api_url() + "/v2.1/servers/" + id + "/shares/" + share,
        {{"X-Auth-Token", token}, {"OpenStack-API-Version", "compute 2.97"}});
    return r.status == 200
               ? json::parse(r.body)["share"]["status"].get<std::string>()
               : std::to_string(r.status);
  };
  // A share, attached while it is stopped (libvirt's test driver does not
  // hot-plug).
  HttpResponse made = Http(
      "POST", stack.manila_url() + "/shares",
      {{"X-Auth-Token", KeystoneToken("admin", "admin")}},
      json{{"share",
            {{"share_proto", "NFS"}, {"project_id", Ks().demo_project_id}}}}
          .dump());
  REQUIRE(made.status == 200);
  const std::string share = json::parse(made.body)["share"]["id"];
  REQUIRE(osc.Run({"server", "stop", "vm1"}, "alice", "demo").exit_code == 0);
  REQUIRE(settles("SHUTOFF"));
  HttpResponse attach =
      Http("POST", stack.api_url() + "/v2.1/servers/" + id + "/shares",
           {{"X-Auth-Token", token}, {"OpenStack-API-Version", "compute 2.97"}},
           AttachBody(share));
  REQUIRE(attach.status == 201);
  REQUIRE(WaitUntil([&] { return share_status(share) == "inactive"; }));
  REQUIRE(osc.Run({"server", "start", "vm1"}, "alice", "demo").exit_code == 0);
  REQUIRE(settles("ACTIVE"));
  const std::string first = shown("OS-EXT-SRV-ATTR:host");

  // The owner resizes and confirms; the admin migrates and reverts.
  struct Step {
    std::vector<std::string> args;
    std::string user, project, then;
  };
  const std::vector<Step> steps = {
      {{"server", "resize", "--flavor", "m1.small", "vm1"},
       "alice",
       "demo",
       "VERIFY_RESIZE"},
      {{"server", "resize", "confirm", "vm1"}, "alice", "demo", "ACTIVE"},
      {{"server", "migrate", id}, "admin", "admin", "VERIFY_RESIZE"},
      {{"server", "resize", "revert", "vm1"}, "alice", "demo", "ACTIVE"},
  };
  for (const Step& step : steps) {
    CommandResult r = osc.Run(step.args, step.user, step.project);
    INFO(step.args[1] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(settles(step.then));
  }
  const std::string after_resize = shown("OS-EXT-SRV-ATTR:host");
  CHECK(after_resize != first);
  CHECK(shown("flavor").find("m1.small") != std::string::npos);
  CHECK(share_status(share) == "active");
  CHECK(rules(share) == 1);
  json migrations = osc.Json({"server", "migration", "list"}, "admin", "admin");
  CHECK(migrations.size() == 2);

  // The host goes down; the admin marks it so and evacuates.
  stack.KillCompute(after_resize);
  CommandResult down = osc.Run({"compute", "service", "set", "--down",
                                after_resize, "shareplane-compute"},
                               "admin", "admin");
  INFO(down.err);
  REQUIRE(down.exit_code == 0);
  CommandResult evacuate =
      osc.Run({"server", "evacuate", id}, "admin", "admin");
  INFO(evacuate.err);
  // Debian's OSC 6.0.0 sends the evacuation, then fails on novaclient's
  // answer (`server = server.evacuate(...)` is a TupleWithMeta, whatever
  // the server said); newer clients exit 0.
  CHECK((evacuate.exit_code == 0 ||
         absl::StrContains(evacuate.err,
                           "'TupleWithMeta' object has no "
                           "attribute")));
  // At 2.92 (OSC's) an evacuated server keeps its power state.
  REQUIRE(settles("ACTIVE"));
  CHECK(shown("OS-EXT-SRV-ATTR:host") == first);
  CHECK(WaitUntil([&] { return rules(share) == 1; }));
}
