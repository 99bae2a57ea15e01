// The agent's host side in-process: libvirt's test driver (real libvirt
// code) and the in-memory mount twin, whose recorded argv is checked.
#include "compute-agent/server_driver.h"

#include <spawn.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "compute-agent/call_scope.h"

using namespace shareplane;

namespace {

const std::string kMd5 = "77b0e8110144f8aea9d6f5e53ecaa818";

agent::v1::ServerSpec Spec(
    const std::string& uuid,
    std::vector<std::pair<std::string, std::string>> exports_and_tags) {
  agent::v1::ServerSpec spec;
  spec.set_server_uuid(uuid);
  spec.set_name("vm");
  spec.set_vcpus(1);
  spec.set_memory_mb(256);
  for (const auto& [e, tag] : exports_and_tags) {
    auto* fs = spec.add_filesystems();
    fs->set_share_id("share-" + tag);
    fs->set_export_location(e);
    fs->set_tag(tag);
    fs->set_share_proto("NFS");
  }
  return spec;
}

// Mount options under `base`, the rest the defaults.
MountOptions MountsAt(const std::string& base) {
  MountOptions o;
  o.base = base;
  return o;
}

std::string XmlOf(Hypervisor& hv, const std::string& uuid) {
  const auto all = hv.ListDomainXml();
  for (const auto& xml : *all) {
    if (absl::StrContains(xml, uuid)) return xml;
  }
  return "";
}

}  // namespace

TEST_CASE("mount argv for NFS and CephFS, secret in a file", "[unit]") {
  MountOptions o;
  o.nfs_mount_options = "vers=4.2";
  auto nfs = MountArgv({"10.0.0.5:/x", "NFS", "", ""}, "/m/p", o, "");
  CHECK(nfs == std::vector<std::string>{"mount", "-t", "nfs", "-o", "vers=4.2",
                                        "10.0.0.5:/x", "/m/p"});
  auto ceph = MountArgv({"mon:6789:/v/a", "CEPHFS", "nova", "SECRET"}, "/m/q",
                        {}, "/m/q.secret");
  CHECK(ceph == std::vector<std::string>{"mount", "-t", "ceph", "-o",
                                         "name=nova,secretfile=/m/q.secret",
                                         "mon:6789:/v/a", "/m/q"});
  for (const auto& arg : ceph) CHECK(arg.find("SECRET") == std::string::npos);
  // md5("10.0.0.5:/x"), as `printf %s 10.0.0.5:/x | md5sum` prints it.
  CHECK(MountPointFor("/b", "10.0.0.5:/x") == "/b/" + kMd5);
}

TEST_CASE(
    "a server starts with one virtiofs filesystem per share and "
    "memfd shared memory",
    "[unit]") {
  char tmpl[] = "/tmp/sp-mnt.XXXXXX";
  const std::string base = mkdtemp(tmpl);
  LibvirtHypervisor hv("test:///default");
  InMemoryMounter mounter;
  MountManager mounts(mounter, MountsAt(base));
  ServerDriver driver(hv, mounts, {"test", "memfd", "", "", ""});
  const std::string a = "11111111-0000-0000-0000-000000000001";
  const std::string b = "11111111-0000-0000-0000-000000000002";

  auto on = driver.PowerOn(
      Spec(a, {{"10.0.0.5:/one", "data"}, {"10.0.0.5:/two", "logs"}}));
  REQUIRE(on.ok());
  CHECK(on->domain_state() == "running");
  CHECK(on->mount_points_size() == 2);
  const std::string xml = XmlOf(hv, a);
  CHECK(absl::StrContains(xml, "<source type='memfd'/>"));
  CHECK(absl::StrContains(xml, "<access mode='shared'/>"));
  CHECK(absl::StrContains(xml, "<driver type='virtiofs'/>"));
  CHECK(absl::StrContains(xml, "<target dir='data'/>"));
  CHECK(absl::StrContains(
      xml, "<source dir='" + MountPointFor(base, "10.0.0.5:/one") + "'/>"));
  REQUIRE(mounter.history().size() == 2);
  CHECK(mounter.history()[0] ==
        std::vector<std::string>{"mount", "-t", "nfs", "10.0.0.5:/one",
                                 MountPointFor(base, "10.0.0.5:/one")});

  // A second server sharing one export reuses the mount point.
  REQUIRE(driver.PowerOn(Spec(b, {{"10.0.0.5:/one", "data"}})).ok());
  CHECK(mounter.history().size() == 2);
  CHECK(mounts.Users(MountPointFor(base, "10.0.0.5:/one")) == 2);

  // Stopping a releases its mounts; the shared one stays for b.
  auto off = driver.PowerOff(a);
  REQUIRE(off.ok());
  CHECK(off->domain_state() == "shutoff");
  CHECK(mounter.IsMounted(MountPointFor(base, "10.0.0.5:/one")));
  CHECK_FALSE(mounter.IsMounted(MountPointFor(base, "10.0.0.5:/two")));

  // After an agent restart the counts come back from the running domains.
  MountManager recovered(mounter, MountsAt(base));
  ServerDriver again(hv, recovered, {"test", "memfd", "", "", ""});
  REQUIRE(again.Recover(mounter).ok());
  CHECK(recovered.Users(MountPointFor(base, "10.0.0.5:/one")) == 1);

  REQUIRE(again.Delete(b).ok());
  CHECK_FALSE(mounter.IsMounted(MountPointFor(base, "10.0.0.5:/one")));
  CHECK(XmlOf(hv, b).empty());
  REQUIRE(again.Delete(a).ok());
  REQUIRE(again.Delete(a).ok());  // idempotent
}

TEST_CASE("a failed mount leaves the server without mounts or domain",
          "[unit]") {
  class FailingMounter : public InMemoryMounter {
   public:
    absl::Status Mount(const std::vector<std::string>& argv,
                       const std::string& point) override {
      if (argv[3] == "bad:/x") {
        return absl::InternalError("mount.nfs: access denied");
      }
      return InMemoryMounter::Mount(argv, point);
    }
  };
  char tmpl[] = "/tmp/sp-mnt.XXXXXX";
  const std::string base = mkdtemp(tmpl);
  LibvirtHypervisor hv("test:///default");
  FailingMounter mounter;
  MountManager mounts(mounter, MountsAt(base));
  ServerDriver driver(hv, mounts, {"test", "memfd", "", "", ""});
  const std::string uuid = "22222222-0000-0000-0000-000000000001";
  auto on = driver.PowerOn(Spec(uuid, {{"good:/x", "a"}, {"bad:/x", "b"}}));
  REQUIRE_FALSE(on.ok());
  CHECK(absl::StrContains(on.status().message(), "access denied"));
  CHECK_FALSE(mounter.IsMounted(MountPointFor(base, "good:/x")));
  CHECK(XmlOf(hv, uuid).empty());
}

TEST_CASE("images resolve to a kernel boot or a disk, by plain names only",
          "[unit]") {
  char tmpl[] = "/tmp/sp-images.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  std::filesystem::create_directories(dir + "/tiny");
  std::ofstream(dir + "/tiny/vmlinuz") << "k";
  std::ofstream(dir + "/tiny/initrd.img") << "i";
  std::ofstream(dir + "/tiny/cmdline") << "console=ttyS0 sp.tags=data\n";
  std::ofstream(dir + "/debian.qcow2") << "d";

  auto tiny = ResolveImage(dir, "tiny");
  REQUIRE(tiny.ok());
  CHECK(tiny->kernel == dir + "/tiny/vmlinuz");
  CHECK(tiny->initrd == dir + "/tiny/initrd.img");
  CHECK(tiny->cmdline == "console=ttyS0 sp.tags=data");
  auto disk = ResolveImage(dir, "debian");
  REQUIRE(disk.ok());
  CHECK(disk->disk == dir + "/debian.qcow2");
  CHECK(ResolveImage(dir, "missing").status().code() ==
        absl::StatusCode::kNotFound);
  for (const char* bad : {"..", "../etc", "a/b", "x y"}) {
    INFO(bad);
    CHECK(ResolveImage(dir, bad).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
  CHECK(ResolveImage("", "tiny")->kernel.empty());  // no image dir: none

  // The domain boots the kernel, logs its console to a file, and keeps the
  // virtiofs filesystems.
  DomainOptions options{"qemu", "memfd", "/usr/bin/qemu-system-x86_64", dir,
                        "/var/log/sp"};
  auto spec = Spec("11111111-2222-3333-4444-555555555555", {{"h:/e", "data"}});
  const std::string xml = BuildDomainXml(spec, {"/mnt/x"}, options, *tiny);
  CHECK(absl::StrContains(xml, "<kernel>" + dir + "/tiny/vmlinuz</kernel>"));
  CHECK(
      absl::StrContains(xml, "<cmdline>console=ttyS0 sp.tags=data</cmdline>"));
  CHECK(absl::StrContains(
      xml,
      "<serial type='file'><source path='/var/log/sp/"
      "instance-11111111-2222-3333-4444-555555555555.log'/>"));
  CHECK(absl::StrContains(xml, "<source dir='/mnt/x'/><target dir='data'/>"));
  const std::string with_disk =
      BuildDomainXml(spec, {"/mnt/x"}, options, *disk);
  CHECK(absl::StrContains(with_disk,
                          "<source file='" + dir + "/debian.qcow2'/>"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("domain XML passes virt-xml-validate", "[unit]") {
  char tmpl[] = "/tmp/sp-xml.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  auto spec = Spec("11111111-2222-3333-4444-555555555555",
                   {{"h:/a", "data"}, {"h:/b", "tag with <&> chars"}});
  DomainOptions qemu{"qemu", "memfd", "/usr/bin/qemu-system-x86_64", "",
                     "/var/log/sp"};
  BootImage kernel{"/img/vmlinuz", "/img/initrd.img", "console=ttyS0", ""};
  BootImage disk{"", "", "", "/img/disk.qcow2"};
  auto huge = spec;
  huge.set_huge_pages(true);
  DomainOptions file = qemu;
  file.shared_memory = "file";
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"memfd-kernel", BuildDomainXml(spec, {"/m/1", "/m/2"}, qemu, kernel)},
      {"file-disk", BuildDomainXml(spec, {"/m/1", "/m/2"}, file, disk)},
      {"hugepages", BuildDomainXml(huge, {"/m/1", "/m/2"}, qemu, kernel)},
      {"test-driver",
       BuildDomainXml(spec, {"/m/1", "/m/2"}, {"test", "memfd", "", "", ""})},
  };
  for (const auto& [name, xml] : variants) {
    INFO(name << "\n" << xml);
    const std::string path = dir + "/" + name + ".xml";
    std::ofstream(path) << xml;
    pid_t pid;
    const char* argv[] = {"virt-xml-validate", path.c_str(), "domain", nullptr};
    REQUIRE(posix_spawnp(&pid, "virt-xml-validate", nullptr, nullptr,
                         const_cast<char* const*>(argv), environ) == 0);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("the domain model follows the flavor and the host's memory setting",
          "[unit]") {
  auto spec = Spec("11111111-2222-3333-4444-555555555555",
                   {{"h:/a", "data"}, {"h:/b", "logs"}});
  spec.set_memory_mb(512);
  spec.set_vcpus(2);
  struct Case {
    bool huge_pages;
    std::string shared_memory;
    MemoryBacking want;
  };
  for (const Case& c : std::vector<Case>{
           {false, "memfd", MemoryBacking::kMemfd},
           {false, "file", MemoryBacking::kFile},
           {false, "none", MemoryBacking::kNone},
           {true, "memfd", MemoryBacking::kHugePages},
           {true, "none", MemoryBacking::kHugePages},
       }) {
    INFO(c.huge_pages << " " << c.shared_memory);
    spec.set_huge_pages(c.huge_pages);
    DomainOptions options{"kvm", c.shared_memory, "", "", ""};
    DomainModel m = DomainModelFor(spec, {"/m/a", "/m/b"}, options);
    CHECK(m.backing == c.want);
    CHECK(m.memory_mb == 512);
    CHECK(m.vcpus == 2);
    CHECK(m.name == "instance-11111111-2222-3333-4444-555555555555");
    REQUIRE(m.filesystems.size() == 2);
    CHECK(m.filesystems[1].source == "/m/b");
    CHECK(m.filesystems[1].tag == "logs");
    const std::string xml = DomainXml(m);
    CHECK(absl::StrContains(xml, "memAccess='shared'") == c.huge_pages);
  }
}

TEST_CASE("a guest that ignores ACPI delays only its own server's calls",
          "[unit]") {
  // The test driver's stop is immediate; this one holds a stop of one
  // domain until released, as a guest ignoring ACPI keeps the agent in its
  // shutdown_timeout.
  class StallingHypervisor : public LibvirtHypervisor {
   public:
    StallingHypervisor() : LibvirtHypervisor("test:///default") {}
    absl::Status StopDomain(const std::string& name) override {
      if (name == stalled) {
        std::unique_lock<std::mutex> lock(mu);
        stopping = true;
        cv.notify_all();
        cv.wait(lock, [&] { return released; });
      }
      return LibvirtHypervisor::StopDomain(name);
    }
    std::string stalled;
    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false, released = false;
  };
  char tmpl[] = "/tmp/sp-mnt.XXXXXX";
  const std::string base = mkdtemp(tmpl);
  StallingHypervisor hv;
  InMemoryMounter mounter;
  MountManager mounts(mounter, MountsAt(base));
  ServerDriver driver(hv, mounts, {"test", "memfd", "", "", ""});
  const std::string a = "33333333-0000-0000-0000-00000000000a";
  const std::string b = "33333333-0000-0000-0000-00000000000b";
  REQUIRE(driver.PowerOn(Spec(a, {{"192.0.2.1:/a", "a"}})).ok());
  hv.stalled = "instance-" + a;
  // A's stop runs on its own thread, which only records how it ended:
  // assertions are the test thread's.
  bool a_stop_ok = false;
  std::thread stop_a([&] { a_stop_ok = driver.PowerOff(a).ok(); });
  auto release_a = [&] {
    {
      std::lock_guard<std::mutex> lock(hv.mu);
      hv.released = true;
    }
    hv.cv.notify_all();
  };
  bool stalled = false;
  {
    std::unique_lock<std::mutex> lock(hv.mu);
    stalled = hv.cv.wait_for(lock, std::chrono::seconds(20),
                             [&] { return hv.stopping; });
  }
  if (!stalled) {
    release_a();
    stop_a.join();  // before failing: a joinable thread must not unwind
    FAIL("A's stop never reached its guest");
  }
  // While A's stop waits for its guest, B starts and stops: it used to
  // wait behind A on one host-wide lock.
  auto on = driver.PowerOn(Spec(b, {{"192.0.2.1:/b", "b"}}));
  CHECK(on.ok());
  CHECK(driver.State(b)->domain_state() == "running");
  CHECK(driver.PowerOff(b).ok());
  // A call for A waits for A's stop, but no longer than its caller: past
  // the caller's deadline, or once the caller hung up, it gives up.
  {
    CallScope scope(nullptr, std::chrono::steady_clock::now() +
                                 std::chrono::milliseconds(200));
    auto late = driver.PowerOn(Spec(a, {{"192.0.2.1:/a", "a"}}));
    CHECK(late.status().code() == absl::StatusCode::kDeadlineExceeded);
  }
  {
    CallScope scope([] { return true; },  // the caller has hung up
                    std::chrono::steady_clock::time_point::max());
    auto off = driver.PowerOff(a);
    CHECK(off.status().code() == absl::StatusCode::kCancelled);
  }
  // The state is answered meanwhile: the conductor asks it after a call
  // ran out of its deadline.
  CHECK(driver.State(a)->domain_state() == "running");
  {
    std::lock_guard<std::mutex> lock(hv.mu);
    CHECK_FALSE(hv.released);  // A is still stopping throughout
  }
  release_a();
  stop_a.join();
  CHECK(a_stop_ok);
  CHECK(driver.State(a)->domain_state() == "shutoff");
  std::filesystem::remove_all(base);
}

TEST_CASE("recovery unmounts what no running domain uses", "[unit]") {
  char tmpl[] = "/tmp/sp-mnt.XXXXXX";
  const std::string base = mkdtemp(tmpl);
  LibvirtHypervisor hv("test:///default");
  InMemoryMounter mounter;
  MountManager mounts(mounter, MountsAt(base));
  ServerDriver driver(hv, mounts, {"test", "memfd", "", "", ""});
  const std::string a = "44444444-0000-0000-0000-00000000000a";
  REQUIRE(driver.PowerOn(Spec(a, {{"192.0.2.7:/kept", "k"}})).ok());
  // A mount left behind: the agent died between a stop and its release.
  const std::string leftover = MountPointFor(base, "192.0.2.7:/leaked");
  std::filesystem::create_directories(leftover);
  REQUIRE(mounter
              .Mount({"mount", "-t", "nfs", "192.0.2.7:/leaked", leftover},
                     leftover)
              .ok());
  MountManager after(mounter, MountsAt(base));
  ServerDriver restarted(hv, after, {"test", "memfd", "", "", ""});
  REQUIRE(restarted.Recover(mounter).ok());
  CHECK_FALSE(mounter.IsMounted(leftover));
  CHECK(mounter.IsMounted(MountPointFor(base, "192.0.2.7:/kept")));
  CHECK(after.Users(MountPointFor(base, "192.0.2.7:/kept")) == 1);
  REQUIRE(restarted.Delete(a).ok());
  std::filesystem::remove_all(base);
}

TEST_CASE("an agent whose recovery failed refuses changes until it succeeds",
          "[unit]") {
  class DownHypervisor : public LibvirtHypervisor {
   public:
    DownHypervisor() : LibvirtHypervisor("test:///default") {}
    absl::StatusOr<std::vector<std::string>> ListDomainXml() override {
      if (down) return absl::UnavailableError("libvirt is not running");
      return LibvirtHypervisor::ListDomainXml();
    }
    bool down = true;
  };
  char tmpl[] = "/tmp/sp-mnt.XXXXXX";
  const std::string base = mkdtemp(tmpl);
  DownHypervisor hv;
  InMemoryMounter mounter;
  MountManager mounts(mounter, MountsAt(base));
  ServerDriver driver(hv, mounts, {"test", "memfd", "", "", ""});
  const std::string a = "55555555-0000-0000-0000-00000000000a";
  CHECK_FALSE(driver.Recover(mounter).ok());
  auto refused = driver.PowerOn(Spec(a, {{"192.0.2.8:/x", "x"}}));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kUnavailable);
  CHECK(mounter.history().empty());  // nothing was mounted
  hv.down = false;
  REQUIRE(driver.Recover(mounter).ok());
  CHECK(driver.PowerOn(Spec(a, {{"192.0.2.8:/x", "x"}})).ok());
  REQUIRE(driver.Delete(a).ok());
  std::filesystem::remove_all(base);
}
