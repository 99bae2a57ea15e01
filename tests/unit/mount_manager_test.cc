// Mount manager: export validation against option injection, the mount
// helper run with an argv and a deadline, counts and recovery.
#include "compute-agent/mount_manager.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace shareplane;

namespace {

std::string TempDir() {
  char dir[] = "/tmp/sp-mount.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return dir;
}

// Mount options under `base` (NFS mounts with `nfs_options`), the rest
// the defaults.
MountOptions MountsAt(const std::string& base,
                      const std::string& nfs_options = "") {
  MountOptions o;
  o.base = base;
  o.nfs_mount_options = nfs_options;
  return o;
}

// A mount helper script recording its argv, one argument per line.
std::string Helper(const std::string& dir, const std::string& body) {
  const std::string path = dir + "/helper";
  std::ofstream(path) << "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done >> "
                      << dir << "/argv\n"
                      << body << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

}  // namespace

TEST_CASE("exports that could inject mount options are refused", "[unit]") {
  struct Case {
    ExportSpec e;
    bool ok;
  };
  const std::vector<Case> cases = {
      {{"192.0.2.1:/shares/a", "NFS", "", ""}, true},
      {{"nfs.example.com:/exports/share-1", "NFS", "", ""}, true},
      {{"10.0.0.1:6789,10.0.0.2:6789:/volumes/_nogroup/x", "CEPHFS", "nova",
        "AQBx+/9=="},
       true},
      {{"-o", "NFS", "", ""}, false},
      {{"-oremount:/x", "NFS", "", ""}, false},
      {{"host:/a b", "NFS", "", ""}, false},
      {{"host:/a\n-o", "NFS", "", ""}, false},
      {{"host:/a,ro", "NFS", "", ""}, false},
      {{"host,rw:/a", "NFS", "", ""}, false},
      {{"/local/path", "NFS", "", ""}, false},
      {{"", "NFS", "", ""}, false},
      {{"mon:/p,secret=x", "CEPHFS", "nova", "AQ=="}, false},
      {{"mon:/p", "CEPHFS", "nova,secret=x", "AQ=="}, false},
      {{"mon:/p", "CEPHFS", "nova", "key with space"}, false},
      {{"host:/a", "CIFS", "", ""}, false},
  };
  for (const Case& c : cases) {
    INFO(c.e.export_location << " " << c.e.cephx_id);
    CHECK(ValidateExport(c.e).ok() == c.ok);
  }
  // The manager refuses before creating or mounting anything.
  InMemoryMounter mounter;
  const std::string base = TempDir();
  MountManager mounts(mounter, MountsAt(base));
  auto refused = mounts.Acquire("s1", {"-oremount:/x", "NFS", "", ""});
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(mounter.history().empty());
  CHECK(std::filesystem::is_empty(base));
  std::filesystem::remove_all(base);
}

TEST_CASE("the mount helper gets the argv mount(8) would", "[unit]") {
  const std::string dir = TempDir();
  SystemMounter mounter(Helper(dir, "exit 0"), 5);
  MountManager mounts(mounter, MountsAt(dir + "/mnt", "vers=4.1"));
  // The helper "mounts" nothing, so the point never shows in mountinfo;
  // what matters here is the command line it was given.
  auto point = mounts.Acquire("s1", {"192.0.2.1:/shares/a", "NFS", "", ""});
  REQUIRE(point.ok());
  std::ifstream in(dir + "/argv");
  std::vector<std::string> argv;
  for (std::string line; std::getline(in, line);) argv.push_back(line);
  CHECK(argv == std::vector<std::string>{"-t", "nfs", "-o", "vers=4.1",
                                         "192.0.2.1:/shares/a", *point});
  std::filesystem::remove_all(dir);
}

TEST_CASE("a failing or hanging mount helper is an error with its reason",
          "[unit]") {
  const std::string dir = TempDir();
  SECTION("failure carries the helper's message") {
    SystemMounter mounter(
        Helper(dir, "echo 'mount.nfs: access denied by server' >&2; exit 32"),
        5);
    absl::Status s = mounter.Mount({"mount", "-t", "nfs", "h:/a", dir}, dir);
    CHECK(s.code() == absl::StatusCode::kInternal);
    CHECK(std::string(s.message()).find("access denied by server") !=
          std::string::npos);
  }
  SECTION("a helper past its deadline is killed") {
    SystemMounter mounter(Helper(dir, "exec sleep 30"), 1);
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = mounter.Mount({"mount", "-t", "nfs", "h:/a", dir}, dir);
    CHECK(s.code() == absl::StatusCode::kDeadlineExceeded);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("CephFS through ceph-fuse gets a keyring, never the key on argv",
          "[unit]") {
  const std::string base = TempDir();
  InMemoryMounter mounter;
  MountOptions options = MountsAt(base);
  options.ceph_mount_type = "fuse";
  options.ceph_conf = "/etc/ceph/test.conf";
  MountManager mounts(mounter, options);
  auto point =
      mounts.Acquire("s1", {"10.0.0.1:6789,10.0.0.2:6789:/volumes/_nogroup/x",
                            "CEPHFS", "nova", "AQBsecret=="});
  REQUIRE(point.ok());
  const std::string keyring = *point + ".secret";
  CHECK(mounter.history().at(0) ==
        std::vector<std::string>{"ceph-fuse", "-c", "/etc/ceph/test.conf",
                                 "--id", "nova", "--keyring", keyring, "-m",
                                 "10.0.0.1:6789,10.0.0.2:6789", "-r",
                                 "/volumes/_nogroup/x", *point});
  std::ifstream in(keyring);
  std::stringstream content;
  content << in.rdbuf();
  CHECK(content.str() == "[client.nova]\n\tkey = AQBsecret==\n");
  const auto perms = std::filesystem::status(keyring).permissions() &
                     std::filesystem::perms::all;
  CHECK((perms == (std::filesystem::perms::owner_read |
                   std::filesystem::perms::owner_write)));
  std::filesystem::remove_all(base);
}
