// A real guest: libvirtd and QEMU (TCG) boot Debian's kernel with a busybox
// initramfs (tests/support/guest-image); the whole stack attaches two NFS
// shares with custom tags, starts the server, and the guest mounts them
// with `mount -t virtiofs <tag>`, reads the file the host put there and
// writes one back. This kernel has no NFS client, so the agent's mount
// helper (tests/support/bind-mount-helper) bind-mounts the emulator's
// export directories, after recording the argv mount(8) would have had.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "tests/integration/guest_support.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

TEST_CASE("a QEMU guest reads and writes two shares through virtiofs",
          "[e2e][guest]") {
  const std::string work = UniqueName("/tmp/sp-guest");
  const std::string exports = work + "/exports";
  const std::string mounts = work + "/mnt";
  const std::string consoles = work + "/console";
  std::filesystem::create_directories(exports);
  std::filesystem::create_directories(consoles);
  Stack stack(
      GuestConfig(work, absl::StrCat("nfs_mount_options = vers=4.2\n[compute]\n"
                                     "mount_helper = ",
                                     SHAREPLANE_SOURCE_DIR,
                                     "/tests/support/bind-mount-helper\n")));
  stack.StartEmulator(30, {"--export_root=" + exports});
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  Guest guest(stack);
  const std::string& id = guest.id();

  // Two shares whose exports hold a file each, attached with custom tags.
  std::map<std::string, std::string> dir_of;  // tag -> export directory
  for (const std::string tag : {"data", "second"}) {
    const std::string share = stack.CreateShare("NFS");
    const std::string dir = exports + "/share-" + share;
    REQUIRE(std::filesystem::is_directory(dir));
    std::ofstream(dir + "/hello.txt") << "hello from the " << tag << " share";
    guest.Attach(share, tag);
    dir_of[tag] = dir;
  }

  // Start: the agent mounts both exports and boots the guest with them.
  guest.Action(R"({"os-start": null})", "ACTIVE");
  const std::string console = consoles + "/instance-" + id + ".log";
  // Complete files, not just created ones.
  bool wrote = WaitUntil(
      [&] {
        for (const auto& [tag, dir] : dir_of) {
          if (Slurp(dir + "/from-guest.txt") !=
              "written by the guest through " + tag + "\n") {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(120));
  if (!wrote) {
    FAIL("guest console:\n" << Slurp(console));
  }
  for (const auto& [tag, dir] : dir_of) {
    INFO(tag);
    CHECK(Slurp(dir + "/from-guest.txt") ==
          "written by the guest through " + tag + "\n");
  }
  const std::string log = Slurp(console);
  CHECK(log.find("GUEST: data says: hello from the data share") !=
        std::string::npos);
  CHECK(log.find("GUEST: second says: hello from the second share") !=
        std::string::npos);

  // The helper got what mount(8) would: NFS with the configured options.
  const std::string argv = Slurp(mounts + "/mount-helper.argv");
  for (const auto& [tag, dir] : dir_of) {
    CHECK(argv.find("nfs|vers=4.2|127.0.0.1:" + dir + "|" + mounts + "/") !=
          std::string::npos);
  }
  // Stop releases both mounts.
  std::vector<std::string> points;
  for (const auto& e : std::filesystem::directory_iterator(mounts)) {
    if (e.is_directory()) points.push_back(e.path().string());
  }
  REQUIRE(points.size() == 2);
  for (const auto& p : points) CHECK(Mounted(p));
  guest.Action(R"({"os-stop": null})", "SHUTOFF");
  for (const auto& p : points) CHECK_FALSE(Mounted(p));
  guest.Delete();
  std::filesystem::remove_all(work);
}

TEST_CASE("a QEMU guest reads and writes a CephFS share through virtiofs",
          "[e2e][guest]") {
  const std::string work = UniqueName("/tmp/sp-guest-ceph");
  const std::string mounts = work + "/mnt";
  const std::string consoles = work + "/console";
  std::filesystem::create_directories(consoles);
  CephView ceph(work + "/cephfs");
  const std::string& root = ceph.root;

  Stack stack(GuestConfig(work, ceph.AgentConfig()));
  stack.StartEmulator(30, {ceph.EmulatorFlag()});
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  Guest guest(stack);

  // A CephFS share whose directory holds a file written into CephFS.
  const std::string share = stack.CreateShare("CEPHFS");
  const std::string dir = root + "/volumes/_nogroup/" + share;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/hello.txt") << "hello from CephFS";
  guest.Attach(share, "data");
  guest.Action(R"({"os-start": null})", "ACTIVE");
  const std::string console = consoles + "/instance-" + guest.id() + ".log";
  if (!WaitUntil(
          [&] {
            return Slurp(dir + "/from-guest.txt") ==
                   "written by the guest through data\n";
          },
          std::chrono::seconds(120))) {
    FAIL("guest console:\n" << Slurp(console));
  }
  CHECK(Slurp(dir + "/from-guest.txt") ==
        "written by the guest through data\n");
  CHECK(Slurp(console).find("GUEST: data says: hello from CephFS") !=
        std::string::npos);
  guest.Action(R"({"os-stop": null})", "SHUTOFF");
  for (const auto& e : std::filesystem::directory_iterator(mounts)) {
    if (e.is_directory()) CHECK_FALSE(Mounted(e.path().string()));
  }
  guest.Delete();
}

TEST_CASE("the agent reconnects to a restarted libvirtd", "[e2e][guest]") {
  const std::string work = UniqueName("/tmp/sp-guest-reconnect");
  Stack stack(GuestConfig(work, ""));
  stack.StartConductor();
  stack.StartCompute();
  auto stub = agent::v1::ComputeAgent::NewStub(stack.AgentChannel());
  auto state = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    agent::v1::ServerRequest req;
    req.set_server_uuid("5b0c7f4e-1111-4222-8333-944455556666");
    agent::v1::PowerReply reply;
    grpc::Status s = stub->GetServerState(&ctx, req, &reply);
    return s.ok() ? reply.domain_state() : "error: " + s.error_message();
  };
  REQUIRE(state() == "absent");
  Process restart("libvirtd-restart",
                  {SHAREPLANE_SOURCE_DIR "/tests/support/libvirtd", "restart",
                   TestServices::Get().services_dir});
  REQUIRE(
      WaitUntil([&] { return !restart.running(); }, std::chrono::seconds(60)));
  if (restart.Log().empty() &&
      !std::filesystem::exists(TestServices::Get().services_dir +
                               "/libvirtd.started")) {
    WARN("libvirtd was not started by the harness; not restarting it");
    return;
  }
  // The agent's old connection died with the daemon: it opens a new one.
  CHECK(state() == "absent");
  std::filesystem::remove_all(work);
}
