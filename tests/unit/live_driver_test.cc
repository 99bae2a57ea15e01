// The agent's side of live attach and detach in-process: the hot-plug
// trait, the spare PCIe ports, read-only mounts, and ServerDriver on the
// libvirt twin (twin_hypervisor.h) with the in-memory mount twin.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "compute-agent/host_facts.h"
#include "compute-agent/server_driver.h"
#include "compute-agent/twin_hypervisor.h"

using namespace shareplane;

namespace {

bool Has(const std::vector<std::string>& v, const std::string& t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos;
       p = text.find(what, p + 1)) {
    ++n;
  }
  return n;
}

agent::v1::Filesystem Fs(const std::string& export_location,
                         const std::string& tag, bool read_only = false) {
  agent::v1::Filesystem fs;
  fs.set_share_id("share-" + tag);
  fs.set_export_location(export_location);
  fs.set_tag(tag);
  fs.set_share_proto("NFS");
  fs.set_read_only(read_only);
  return fs;
}

// A driver on the twin, a server "uuid-a" running with no share.
struct Host {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("live-driver-" + std::to_string(getpid()));
  TwinHypervisor hv{dir + "/twin"};
  InMemoryMounter mounter;
  MountManager mounts{mounter, [this] {
                        MountOptions o;
                        o.base = dir + "/mnt";
                        o.nfs_mount_options = "vers=4.2";
                        return o;
                      }()};
  ServerDriver driver{hv, mounts, [] {
                        DomainOptions o;
                        o.hot_unplug_timeout = std::chrono::milliseconds(300);
                        return o;
                      }()};
  Host() {
    agent::v1::ServerSpec spec;
    spec.set_server_uuid("uuid-a");
    spec.set_memory_mb(256);
    REQUIRE(driver.PowerOn(spec).ok());
  }
  ~Host() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string Xml(bool live) {
    return *hv.GetDomainXml(DomainName("uuid-a"), live);
  }
};

}  // namespace

TEST_CASE("hosts that hot-plug virtiofs report CUSTOM_VIRTIOFS_HOTPLUG",
          "[unit]") {
  HostSettings s;
  const char* trait = "CUSTOM_VIRTIOFS_HOTPLUG";
  CHECK(Has(ComputeTraits({9000000, "QEMU", 7002022}, s, true), trait));
  CHECK(Has(ComputeTraits({7009000, "QEMU", 7002022}, s, true), trait));
  // libvirt before 7.9.0, no virtiofs at all, the test driver.
  CHECK_FALSE(Has(ComputeTraits({7008000, "QEMU", 7002022}, s, true), trait));
  CHECK_FALSE(Has(ComputeTraits({9000000, "QEMU", 7002022}, s, false), trait));
  CHECK_FALSE(Has(ComputeTraits({9000000, "TEST", 9000000}, s, true), trait));
  // Domains without shared memory cannot take a share later.
  s.shared_memory = "none";
  CHECK_FALSE(Has(ComputeTraits({9000000, "QEMU", 7002022}, s, true), trait));
  s.shared_memory = "file";
  CHECK(Has(ComputeTraits({9000000, "QEMU", 7002022}, s, true), trait));
  // The twin hot-plugs whatever its versions.
  HypervisorInfo twin{9000000, "TWIN", 0};
  twin.device_hotplug = true;
  CHECK(Has(ComputeTraits(twin, HostSettings(), false), trait));
}

TEST_CASE("q35 domains carry an explicit pcie-root and spare root ports",
          "[unit]") {
  DomainModel m;
  m.type = "qemu";
  m.name = "instance-x";
  m.boot.kernel = "/img/vmlinuz";  // a kernel boot: q35
  m.pcie_ports = 3;
  std::string xml = DomainXml(m);
  CHECK(Count(xml, "model='pcie-root'") == 1);
  CHECK(Count(xml, "model='pcie-root-port'") == 3);
  // The root comes first: libvirt refuses root ports without it.
  CHECK(xml.find("model='pcie-root'") < xml.find("model='pcie-root-port'"));
  m.pcie_ports = 0;
  CHECK_FALSE(absl::StrContains(DomainXml(m), "<controller"));
  m.pcie_ports = 3;
  m.boot.kernel.clear();  // not q35
  CHECK_FALSE(absl::StrContains(DomainXml(m), "<controller"));
  CHECK(FilesystemXml({"/mnt/p", "data"}) ==
        "<filesystem type='mount' accessmode='passthrough'><driver "
        "type='virtiofs'/><source dir='/mnt/p'/><target dir='data'/>"
        "</filesystem>");
}

TEST_CASE("read-only exports mount with ro on a point of their own", "[unit]") {
  MountOptions o;
  o.nfs_mount_options = "vers=4.2";
  ExportSpec nfs{"10.0.0.1:/export", "NFS", "", "", true};
  CHECK(MountArgv(nfs, "/m/p-ro", o, "") ==
        std::vector<std::string>{"mount", "-t", "nfs", "-o", "ro,vers=4.2",
                                 "10.0.0.1:/export", "/m/p-ro"});
  o.nfs_mount_options.clear();
  CHECK(MountArgv(nfs, "/m/p-ro", o, "")[4] == "ro");
  ExportSpec ceph{"10.0.0.1:6789:/volumes/x", "CEPHFS", "nova", "a2V5", true};
  CHECK(MountArgv(ceph, "/m/c", o, "/m/c.secret")[4] ==
        "ro,name=nova,secretfile=/m/c.secret");
  o.ceph_mount_type = "fuse";
  const auto fuse = MountArgv(ceph, "/m/c", o, "/m/c.keyring");
  REQUIRE(fuse.size() >= 3);
  CHECK(fuse[fuse.size() - 3] == "-o");
  CHECK(fuse[fuse.size() - 2] == "ro");
  CHECK(MountPointFor("/b", "h:/e", true) ==
        MountPointFor("/b", "h:/e") + "-ro");
}

TEST_CASE("a share hot-plugs into a running domain and its definition",
          "[unit]") {
  Host h;
  auto reply = h.driver.AttachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data"));
  REQUIRE(reply.ok());
  CHECK(reply->mount_points_size() == 1);
  CHECK(Count(h.Xml(true), "<target dir='data'/>") == 1);
  CHECK(Count(h.Xml(false), "<target dir='data'/>") == 1);
  // Again (a redelivered task): nothing more.
  REQUIRE(h.driver.AttachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data")).ok());
  CHECK(Count(h.Xml(true), "<target dir='data'/>") == 1);
  CHECK(h.mounter.history().size() == 1);

  // A read-only attachment of the same export has its own -ro mount.
  REQUIRE(
      h.driver.AttachFilesystem("uuid-a", Fs("10.0.0.1:/e", "ro", true)).ok());
  CHECK(h.mounts.MountPointsOf("uuid-a").size() == 2);
  CHECK(h.mounter.history().back()[4] == "ro,vers=4.2");

  // Out of both, unmounted; again is fine.
  REQUIRE(h.driver.DetachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data")).ok());
  CHECK_FALSE(absl::StrContains(h.Xml(true), "<target dir='data'/>"));
  CHECK_FALSE(absl::StrContains(h.Xml(false), "<target dir='data'/>"));
  CHECK(h.mounts.MountPointsOf("uuid-a").size() == 1);  // the ro one
  REQUIRE(h.driver.DetachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data")).ok());
}

TEST_CASE("a live detach the guest does not let go of keeps the mount",
          "[unit]") {
  Host h;
  REQUIRE(h.driver.AttachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data")).ok());
  std::ofstream(h.dir + "/twin/stuck-detach") << "";
  auto r = h.driver.DetachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data"));
  CHECK(r.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(r.status().message(), "still in the running server"));
  CHECK(absl::StrContains(h.Xml(true), "<target dir='data'/>"));
  CHECK(h.mounts.MountPointsOf("uuid-a").size() == 1);
  // The definition keeps it too: a restarted agent's recovery still
  // counts the mount as in use.
  CHECK(absl::StrContains(h.Xml(false), "<target dir='data'/>"));
  // The guest lets go: the next detach finishes, from both.
  std::filesystem::remove(h.dir + "/twin/stuck-detach");
  REQUIRE(h.driver.DetachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data")).ok());
  CHECK_FALSE(absl::StrContains(h.Xml(true), "<target dir='data'/>"));
  CHECK_FALSE(absl::StrContains(h.Xml(false), "<target dir='data'/>"));
  CHECK(h.mounts.MountPointsOf("uuid-a").empty());
}

TEST_CASE("a failed hot-plug leaves no mount; a stopped domain takes none",
          "[unit]") {
  Host h;
  std::ofstream(h.dir + "/twin/fail-attach") << "No more available PCI slots";
  auto r = h.driver.AttachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data"));
  CHECK(r.status().code() == absl::StatusCode::kInternal);
  CHECK(absl::StrContains(r.status().message(), "No more available PCI slots"));
  CHECK(h.mounts.MountPointsOf("uuid-a").empty());
  CHECK(h.driver.State("uuid-a")->domain_state() == "running");
  std::filesystem::remove(h.dir + "/twin/fail-attach");

  REQUIRE(h.driver.PowerOff("uuid-a").ok());
  r = h.driver.AttachFilesystem("uuid-a", Fs("10.0.0.1:/e", "data"));
  CHECK(r.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(h.mounts.MountPointsOf("uuid-a").empty());
}

TEST_CASE("releasing one server's use keeps a mount others use", "[unit]") {
  InMemoryMounter mounter;
  MountOptions o;
  o.base = "/tmp/release-one";
  MountManager m(mounter, o);
  ExportSpec e{"10.0.0.1:/e", "NFS", "", ""};
  const std::string point = *m.Acquire("a", e);
  REQUIRE(*m.Acquire("b", e) == point);
  REQUIRE(m.Release("a", point).ok());
  CHECK(mounter.IsMounted(point));
  CHECK(m.Users(point) == 1);
  REQUIRE(m.Release("b", point).ok());
  CHECK_FALSE(mounter.IsMounted(point));
  CHECK(m.Release("b", point).ok());  // nothing left: fine
}
