// Shares on running QEMU guests (BEYOND.md sections 2 and 3): libvirtd and
// TCG boot the "hotplug" guest image (tests/support/guest-image) with no
// share; the whole stack hot-plugs shares into it while it runs, the
// guest's init mounts each tag as it appears, reads the host's file and
// writes one back, and unmounts when the host says so; then the share is
// hot-unplugged and the guest keeps running. NFS through the bind-mount
// helper (this kernel has no NFS client), CephFS through ceph-fuse.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/guest_support.h"

using namespace shareplane;
using namespace shareplane::testing;

namespace {

// The running domain's XML as libvirt has it.
std::string LiveDomainXml(const std::string& server) {
  Process virsh("virsh", {"/usr/bin/virsh", "-c", "qemu:///system", "dumpxml",
                          "instance-" + server});
  WaitUntil([&] { return !virsh.running(); }, std::chrono::seconds(30));
  return virsh.Log();
}

std::vector<std::string> MountedUnder(const std::string& base) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
    if (e.is_directory() && Mounted(e.path().string())) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

struct NfsStack {
  std::string work = UniqueName("/tmp/sp-live-guest");
  std::string exports = work + "/exports", mounts = work + "/mnt",
              consoles = work + "/console";
  Stack stack;
  NfsStack()
      : stack(
            GuestConfig(Prepared(work),
                        absl::StrCat("nfs_mount_options = vers=4.2\n[compute]\n"
                                     "hot_unplug_timeout = 20\nmount_helper = ",
                                     SHAREPLANE_SOURCE_DIR,
                                     "/tests/support/bind-mount-helper\n"))) {
    stack.StartEmulator(30, {"--export_root=" + exports});
    stack.StartConductor();
    stack.StartCompute();
    stack.StartApi();
  }
  ~NfsStack() {
    std::error_code ec;
    std::filesystem::remove_all(work, ec);
  }
  std::string Argv() { return Slurp(mounts + "/mount-helper.argv"); }
};

}  // namespace

TEST_CASE("a running QEMU guest takes an NFS share live and gives it back",
          "[e2e][guest]") {
  NfsStack s;
  LiveGuest g(s.stack, s.consoles);
  const std::string& gid = g.id();

  std::string dir, second_dir;
  const std::string share =
      NfsShare(s.stack, s.exports, "hello from the data share", &dir);
  // Two at once: the domain's spare PCIe root ports take both (libvirt's
  // default leaves room for one).
  const std::string second =
      NfsShare(s.stack, s.exports, "hello from the second share", &second_dir);
  g.guest().Attach(share, "data", "active");
  g.guest().Attach(second, "second", "active");
  // The guest found the new tags, read the host's files and wrote back.
  g.Await("GUEST: data says: hello from the data share");
  g.Await("GUEST: second says: hello from the second share");
  REQUIRE(WaitUntil(
      [&] {
        return Slurp(second_dir + "/from-" + gid + ".txt") ==
               "written by " + gid + " through second\n";
      },
      std::chrono::seconds(60)));
  g.Release(second_dir, "second");
  g.guest().Detach(second);
  REQUIRE(WaitUntil(
      [&] {
        return Slurp(dir + "/from-" + gid + ".txt") ==
               "written by " + gid + " through data\n";
      },
      std::chrono::seconds(60)));
  CHECK(absl::StrContains(LiveDomainXml(gid), "<target dir='data'/>"));
  CHECK(absl::StrContains(s.Argv(),
                          "nfs|vers=4.2|127.0.0.1:" + dir + "|" + s.mounts));

  // The guest unmounts first, then the share leaves the running domain.
  g.Release(dir, "data");
  g.guest().Detach(share);
  CHECK_FALSE(absl::StrContains(LiveDomainXml(gid), "<target dir='data'/>"));
  CHECK(MountedUnder(s.mounts).empty());
  // Manila's revoke is asynchronous.
  CHECK(WaitUntil([&] { return s.stack.ManilaRules(share).empty(); }));
  CHECK(g.KeepsTicking());
  CHECK(s.stack.ServerStatus(gid) == "ACTIVE");

  // A read-only attachment in the same guest: reads work, writes fail.
  std::string ro_dir;
  const std::string ro =
      NfsShare(s.stack, s.exports, "hello from the ro share", &ro_dir);
  g.guest().Attach(ro, "ro", "active", "ro");
  g.Await("GUEST: ro says: hello from the ro share");
  g.Await("GUEST: ro write failed:");
  // EROFS, as the guest's shell reports it.
  CHECK(std::regex_search(
      g.Console(),
      std::regex("GUEST: ro write failed: [^\n]*Read-only file system")));
  CHECK_FALSE(std::filesystem::exists(ro_dir + "/from-" + gid + ".txt"));
  CHECK(absl::StrContains(s.Argv(), "nfs|ro,vers=4.2|127.0.0.1:" + ro_dir));
  const std::vector<std::string> points = MountedUnder(s.mounts);
  REQUIRE(points.size() == 1);
  CHECK(absl::EndsWith(points[0], "-ro"));
  CHECK(s.stack.ManilaRules(ro)[0]["access_level"] == "ro");
  g.Release(ro_dir, "ro");
  g.guest().Detach(ro);
  CHECK(g.KeepsTicking());
  g.guest().Delete();
}

TEST_CASE("two running QEMU guests share one NFS share live", "[e2e][guest]") {
  NfsStack s;
  LiveGuest a(s.stack, s.consoles), b(s.stack, s.consoles);
  std::string dir;
  const std::string share =
      NfsShare(s.stack, s.exports, "hello from the shared share", &dir);
  a.guest().Attach(share, "data", "active");
  b.guest().Attach(share, "data", "active");
  // Each reads what the other wrote, through one host mount and one rule.
  a.Await("GUEST: data read from-" + b.id() + ".txt: written by " + b.id());
  b.Await("GUEST: data read from-" + a.id() + ".txt: written by " + a.id());
  CHECK(MountedUnder(s.mounts).size() == 1);
  CHECK(s.stack.ManilaRules(share).size() == 1);

  // Detached from one, the other keeps reading and writing: the host's
  // mount and the rule stay.
  a.Release(dir, "data");
  a.guest().Detach(share);
  CHECK_FALSE(absl::StrContains(LiveDomainXml(a.id()), "<target dir='data'/>"));
  CHECK(MountedUnder(s.mounts).size() == 1);
  CHECK(s.stack.ManilaRules(share).size() == 1);
  std::ofstream(dir + "/ask-" + b.id()) << "still-here";
  REQUIRE(WaitUntil(
      [&] {
        return Slurp(dir + "/answer-" + b.id() + ".txt") == "still-here\n";
      },
      std::chrono::seconds(30)));
  b.Await("GUEST: data answered still-here");

  // The rule and the mount go with the last one.
  b.Release(dir, "data");
  b.guest().Detach(share);
  CHECK(MountedUnder(s.mounts).empty());
  REQUIRE(WaitUntil([&] { return s.stack.ManilaRules(share).empty(); }));
  CHECK(a.KeepsTicking());
  CHECK(b.KeepsTicking());
}

TEST_CASE("a running QEMU guest takes a CephFS share live and gives it back",
          "[e2e][guest]") {
  const std::string work = UniqueName("/tmp/sp-live-ceph");
  const std::string consoles = work + "/console";
  std::filesystem::create_directories(consoles);
  CephView ceph(work + "/cephfs");
  Stack stack(GuestConfig(
      work, ceph.AgentConfig() + "[compute]\nhot_unplug_timeout = 20\n"));
  stack.StartEmulator(30, {ceph.EmulatorFlag()});
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  LiveGuest g(stack, consoles);

  const std::string share = stack.CreateShare("CEPHFS");
  const std::string dir = ceph.ShareDir(share);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/hello.txt") << "hello from CephFS";
  g.guest().Attach(share, "data", "active");
  g.Await("GUEST: data says: hello from CephFS");
  REQUIRE(WaitUntil(
      [&] {
        return Slurp(dir + "/from-" + g.id() + ".txt") ==
               "written by " + g.id() + " through data\n";
      },
      std::chrono::seconds(60)));
  g.Release(dir, "data");
  g.guest().Detach(share);
  CHECK_FALSE(absl::StrContains(LiveDomainXml(g.id()), "<target dir='data'/>"));
  CHECK(MountedUnder(work + "/mnt").empty());
  CHECK(g.KeepsTicking());
  g.guest().Delete();
}
