// The `shareplane` command against the real daemons (noauth): every
// command, its tables and JSON, --wait, errors with the API's message and
// exit codes, --debug with masked tokens, clouds.yaml and bash completion.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

class Cli {
 public:
  Cli(const Stack& stack, std::string home)
      : endpoint_(stack.api_url() + "/v2.1"), home_(std::move(home)) {}

  CommandResult Run(std::vector<std::string> args,
                    const std::string& user = "alice",
                    const std::string& project = "demo",
                    std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), BinaryPath("cli/shareplane"));
    return Exec(std::move(args), user, project, std::move(env));
  }
  // Any command line in the same environment.
  CommandResult Exec(std::vector<std::string> argv,
                     const std::string& user = "alice",
                     const std::string& project = "demo",
                     std::map<std::string, std::string> env = {}) {
    env.insert({{"HOME", home_},
                {"OS_AUTH_TYPE", "noauth"},
                {"OS_ENDPOINT", endpoint_},
                {"OS_USERNAME", user},
                {"OS_PROJECT_NAME", project}});
    return RunCommand("shareplane", argv, env);
  }
  // REQUIREs success; the standard output.
  std::string Ok(const std::vector<std::string>& args,
                 const std::string& user = "alice",
                 const std::string& project = "demo") {
    CommandResult r = Run(args, user, project);
    INFO("shareplane " << args[0] << " " << args[1] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  }
  json Json(std::vector<std::string> args, const std::string& user = "alice",
            const std::string& project = "demo") {
    args.insert(args.end(), {"-f", "json"});
    return json::parse(Ok(args, user, project));
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  std::string home_;
};

}  // namespace

TEST_CASE("the shareplane CLI runs the seed workflow and more",
          "[integration][cli]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string home = UniqueName("/tmp/cli-home");
  std::filesystem::create_directories(home);
  Cli cli(stack, home);

  // Flavors (admin creates; a table like OSC's).
  json flavor =
      cli.Json({"flavor", "create", "m1.small", "--ram", "256", "--vcpus", "1",
                "--disk", "1", "--property", "hw:mem_page_size=small"},
               "admin", "admin");
  CHECK(flavor["name"] == "m1.small");
  CHECK(flavor["properties"]["hw:mem_page_size"] == "small");
  CHECK(
      cli.Ok({"flavor", "list"}) ==
      "+----------+----------+-----+------+-----------+-------+-----------+\n"
      "| ID       | Name     | RAM | Disk | Ephemeral | VCPUs | Is Public |\n"
      "+----------+----------+-----+------+-----------+-------+-----------+\n"
      "| m1.small | m1.small | 256 | 1    | 0         | 1     | True      |\n"
      "+----------+----------+-----+------+-----------+-------+-----------+\n");
  json shown_flavor = cli.Json({"flavor", "show", "m1.small"});
  CHECK(shown_flavor["ram"] == 256);
  CHECK(shown_flavor["properties"]["hw:mem_page_size"] == "small");
  CommandResult member_flavor =
      cli.Run({"flavor", "create", "m1.big", "--ram", "512"});
  CHECK(member_flavor.exit_code == 1);
  CHECK_THAT(member_flavor.err,
             Catch::StartsWith("Policy doesn't allow "
                               "os_compute_api:os-flavor-manage:create to be "
                               "performed. (HTTP 403) (Request-ID: req-"));

  // A server, by name from here on.
  json server =
      cli.Json({"server", "create", "vm1", "--flavor", "m1.small", "--wait"});
  CHECK(server["status"] == "ACTIVE");
  CHECK(server["name"] == "vm1");
  CHECK(server["OS-EXT-STS:power_state"] == "Running");
  CHECK_FALSE(server["adminPass"].get<std::string>().empty());
  const std::string id = server["id"];
  json servers = cli.Json({"server", "list"});
  REQUIRE(servers.size() == 1);
  CHECK(servers[0] == json{{"ID", id},
                           {"Name", "vm1"},
                           {"Status", "ACTIVE"},
                           {"Networks", ""},
                           {"Image", "N/A (booted from volume)"},
                           {"Flavor", "m1.small"}});
  const std::string table = cli.Ok({"server", "list"});
  CHECK_THAT(table,
             Catch::Contains("| ID  ") && Catch::Contains("| " + id + " |"));
  CHECK(cli.Ok({"server", "show", "vm1", "-f", "value", "-c", "status"}) ==
        "ACTIVE\n");
  CHECK(cli.Ok({"server", "stop", "vm1", "--wait"}).empty());
  CHECK(cli.Ok({"server", "show", id, "-f", "value", "-c", "status"}) ==
        "SHUTOFF\n");

  // Shares: attach with and without a tag, list, show.
  const std::string nfs = stack.CreateShare("NFS");
  const std::string ceph = stack.CreateShare("CEPHFS");
  json added = cli.Json(
      {"server", "add", "share", "vm1", nfs, "--tag", "data", "--wait"});
  CHECK(added["share_id"] == nfs);
  CHECK(added["status"] == "inactive");
  CHECK(added["tag"] == "data");
  CHECK(cli.Json({"server", "add", "share", "vm1", ceph, "--wait"})["tag"] ==
        ceph);
  json shares = cli.Json({"server", "share", "list", "vm1"});
  REQUIRE(shares.size() == 2);
  for (const json& s : shares) {
    CHECK(s["Status"] == "inactive");
    CHECK(s["Tag"] == (s["Share ID"] == nfs ? "data" : ceph));
  }
  const std::string share_table = cli.Ok({"server", "share", "list", "vm1"});
  std::vector<std::string> lines = absl::StrSplit(share_table, '\n');
  REQUIRE(lines.size() == 7);  // rule, header, rule, 2 rows, rule, ""
  CHECK(lines[1] ==
        "| Share ID                             | Status   | Tag  "
        "                                |");
  json share = cli.Json({"server", "share", "show", "vm1", nfs});
  CHECK(share["share_id"] == nfs);
  CHECK(share["tag"] == "data");
  CHECK(cli.Ok({"server", "share", "show", "vm1", nfs, "-f", "value", "-c",
                "status"}) == "inactive\n");
  CHECK_THAT(cli.Ok({"server", "share", "show", "vm1", nfs, "-f", "yaml"}),
             Catch::Contains("tag: data\n"));

  // Start: both shares active; stop, detach one.
  CHECK(cli.Ok({"server", "start", "vm1", "--wait"}).empty());
  for (const json& s : cli.Json({"server", "share", "list", "vm1"})) {
    CHECK(s["Status"] == "active");
  }
  CHECK(cli.Ok({"server", "reboot", "vm1", "--hard", "--wait"}).empty());
  CHECK(cli.Ok({"server", "show", "vm1", "-f", "value", "-c", "status"}) ==
        "ACTIVE\n");
  CommandResult busy = cli.Run({"server", "remove", "share", "vm1", nfs});
  CHECK(busy.exit_code == 1);
  CHECK_THAT(busy.err, Catch::Contains("(HTTP 409)"));
  // On a terminal, --wait shows the status as it goes (script(1) gives
  // the command a pseudo-terminal).
  CommandResult tty = cli.Exec(
      {"/usr/bin/script", "-qec",
       BinaryPath("cli/shareplane") + " server stop vm1 --wait", "/dev/null"});
  CHECK(tty.exit_code == 0);
  CHECK_THAT(tty.out, Catch::Contains("\rserver stop: ") &&
                          Catch::Contains("SHUTOFF ("));
  CHECK(cli.Ok({"server", "remove", "share", "vm1", nfs, "--wait"}).empty());
  json left = cli.Json({"server", "share", "list", "vm1"});
  REQUIRE(left.size() == 1);
  CHECK(left[0]["Share ID"] == ceph);
  CommandResult reboot = cli.Run({"server", "reboot", "vm1"});
  CHECK(reboot.exit_code == 1);
  CHECK_THAT(reboot.err, Catch::Contains("(HTTP 409)"));

  // Events and hosts.
  json events = cli.Json({"server", "event", "list", "vm1"});
  std::vector<std::string> actions;
  for (const json& e : events) {
    actions.push_back(e["Action"]);
    CHECK(e["Server ID"] == id);
  }
  CHECK_THAT(actions, Catch::VectorContains(std::string("create")) &&
                          Catch::VectorContains(std::string("stop")) &&
                          Catch::VectorContains(std::string("start")) &&
                          Catch::VectorContains(std::string("reboot")) &&
                          Catch::VectorContains(std::string("attach_share")));
  json hosts = cli.Json({"host", "list"}, "admin", "admin");
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0]["Host"] == "hv1");
  CHECK(hosts[0]["State"] == "up");
  // The host's capacity as its agent reported it.
  CHECK(hosts[0]["vCPUs"].get<int>() > 0);
  CHECK(hosts[0]["Memory MB"].get<int>() > 0);
  CHECK_THAT(hosts[0]["Traits"].get<std::vector<std::string>>(),
             Catch::VectorContains(std::string("COMPUTE_STORAGE_VIRTIO_FS")));
  CHECK_THAT(cli.Ok({"host", "list"}, "admin", "admin"),
             Catch::Contains("| hv1  | up    | enabled |"));
  CHECK(cli.Run({"host", "list"}).exit_code == 1);  // admins only

  // Errors: the API's message, non-zero exit; usage errors exit 2.
  CommandResult missing = cli.Run({"server", "show", "nosuch"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "No server with a name or ID of 'nosuch' exists.\n");
  const std::string unknown = "9b0e4f3e-0000-4000-8000-000000000000";
  CommandResult no_share = cli.Run({"server", "add", "share", "vm1", unknown});
  CHECK(no_share.exit_code == 1);
  CHECK_THAT(no_share.err,
             Catch::StartsWith("Share " + unknown +
                               " could not be found. (HTTP 404)"));
  CHECK(cli.Run({"server", "add", "share", "vm1"}).exit_code == 2);
  CHECK(cli.Run({"server", "frobnicate"}).exit_code == 2);
  CHECK(cli.Run({"server", "list", "-f", "xml"}).exit_code == 2);
  CHECK(cli.Run({"server", "list", "-c", "Nope"}).exit_code == 1);
  CommandResult other = cli.Run({"server", "show", id}, "eve", "other");
  CHECK(other.exit_code == 1);
  CHECK(other.err == "No server with a name or ID of '" + id + "' exists.\n");

  // --debug shows the exchange, never the token.
  CommandResult debug = cli.Run({"--debug", "server", "list"});
  CHECK(debug.exit_code == 0);
  CHECK_THAT(debug.err, Catch::Contains("REQ: curl -g -i -X GET " +
                                        cli.endpoint() + "/servers/detail") &&
                            Catch::Contains("X-Auth-Token: {SHA256}") &&
                            Catch::Contains("RESP: [200]"));
  CHECK(debug.err.find("alice:demo") == std::string::npos);

  // clouds.yaml, as OSC reads it.
  std::filesystem::create_directories(home + "/.config/openstack");
  std::ofstream(home + "/.config/openstack/clouds.yaml")
      << "clouds:\n"
         "  local:\n"
         "    auth_type: none   # noauth2 deployments\n"
         "    auth:\n"
         "      endpoint: "
      << cli.endpoint()
      << "\n"
         "      username: eve\n"
         "      project_name: other\n";
  CommandResult cloud = cli.Run({"server", "list", "-f", "json"}, "", "",
                                {{"OS_CLOUD", "local"},
                                 {"OS_AUTH_TYPE", ""},
                                 {"OS_ENDPOINT", ""},
                                 {"OS_USERNAME", ""},
                                 {"OS_PROJECT_NAME", ""}});
  INFO(cloud.err);
  CHECK(cloud.exit_code == 0);
  CHECK(cloud.out == "[]\n");  // eve's project has no servers

  // Bash completion completes command words and options.
  CommandResult script = cli.Run({"complete"});
  REQUIRE(script.exit_code == 0);
  std::ofstream(home + "/completion.bash") << script.out;
  auto complete = [&](const std::string& words, int cword) {
    return RunCommand("bash",
                      {"/bin/bash", "-c",
                       "source " + home + "/completion.bash; COMP_WORDS=(" +
                           words + "); COMP_CWORD=" + std::to_string(cword) +
                           "; _shareplane; echo ${COMPREPLY[@]}"})
        .out;
  };
  CHECK(complete("shareplane server a", 2) == "add\n");
  CHECK(complete("shareplane server add share vm1 x --t", 6) == "--tag\n");

  CHECK(cli.Ok({"server", "delete", "vm1", "--wait"}).empty());
  CHECK(cli.Json({"server", "list"}).empty());
  std::filesystem::remove_all(home);
}

TEST_CASE("the shareplane CLI moves and shelves servers", "[integration]") {
  // Shelved servers stay on their host until offloaded.
  Stack stack("[DEFAULT]\nshelved_offload_time = -1\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute("hv1");
  stack.StartCompute("hv2");
  stack.StartApi();
  const std::string home = UniqueName("/tmp/sp-cli-move");
  Cli cli(stack, home);
  const std::string id = stack.BootServer();
  auto status = [&] {
    return cli.Json({"server", "show", id})["status"].get<std::string>();
  };
  // Without --wait, --offload still waits for the shelve to end first
  // (offloading is the admin's, as in Nova).
  CHECK(cli.Run({"server", "shelve", id, "--offload"}).exit_code != 0);
  REQUIRE(WaitUntil([&] { return status() == "SHELVED"; }));
  cli.Ok({"server", "unshelve", id, "--wait"});
  cli.Ok({"server", "shelve", id, "--offload"}, "admin", "admin");
  REQUIRE(WaitUntil([&] { return status() == "SHELVED_OFFLOADED"; }));
  cli.Ok({"server", "unshelve", id, "--wait"});
  CHECK(status() == "ACTIVE");
  // A migration and its revert, as the admin and the owner.
  const std::string host = cli.Json({"server", "show", id}, "admin",
                                    "admin")["OS-EXT-SRV-ATTR:host"];
  cli.Ok({"server", "migrate", id, "--wait"}, "admin", "admin");
  CHECK(status() == "VERIFY_RESIZE");
  CHECK(cli.Json({"server", "show", id}, "admin",
                 "admin")["OS-EXT-SRV-ATTR:host"] != host);
  cli.Ok({"server", "resize", "revert", id, "--wait"});
  CHECK(status() == "ACTIVE");
  json migrations = cli.Json({"server", "migration", "list", "--server", id},
                             "admin", "admin");
  REQUIRE(migrations.size() == 1);
  CHECK(migrations[0]["Status"] == "reverted");
  CHECK(migrations[0]["Type"] == "migration");
  std::filesystem::remove_all(home);
}
