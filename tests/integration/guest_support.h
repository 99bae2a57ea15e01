// What the real-guest tests share: a server of the guest image on a QEMU
// host (libvirtd and TCG), the agent's configuration for it, and reading
// what the guest and the host leave in files.
#ifndef SHAREPLANE_TESTS_INTEGRATION_GUEST_SUPPORT_H_
#define SHAREPLANE_TESTS_INTEGRATION_GUEST_SUPPORT_H_

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/stack.h"

namespace shareplane::testing {

using json = nlohmann::json;

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool Mounted(const std::string& point) {
  return Slurp("/proc/self/mountinfo").find(" " + point + " ") !=
         std::string::npos;
}

// The URI of the second libvirtd (tests/support/libvirtd), for a second
// QEMU host on this machine; "" when there is none.
inline std::string SecondLibvirtUri() {
  std::string uri = Slurp(TestServices::Get().services_dir + "/libvirt2.uri");
  while (!uri.empty() && uri.back() == '\n') uri.pop_back();
  return uri;
}

// Where the second host's agent mounts shares: under a shared mount the
// second libvirtd sees.
inline std::string SecondMountBase() {
  std::string dir = Slurp(TestServices::Get().services_dir + "/libvirt2.mnt");
  while (!dir.empty() && dir.back() == '\n') dir.pop_back();
  return dir;
}

// Every libvirtd a test guest may run on.
inline std::vector<std::string> LibvirtUris() {
  std::vector<std::string> out = {"qemu:///system"};
  if (std::string second = SecondLibvirtUri(); !second.empty()) {
    out.push_back(second);
  }
  return out;
}

// A domain's state as `virsh domstate` prints it ("" when undefined).
inline std::string DomState(const std::string& uri, const std::string& server) {
  Process virsh(
      "virsh", {"/usr/bin/virsh", "-c", uri, "domstate", "instance-" + server});
  WaitUntil([&] { return !virsh.running(); }, std::chrono::seconds(30));
  if (virsh.exit_code() != 0) return "";
  std::string out = virsh.Log();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

// The compute agent's configuration for real guests under `work`.
inline std::string GuestConfig(const std::string& work,
                               const std::string& extra) {
  return absl::StrCat(
      "[compute]\nmount_driver = system\nmount_base = ", work,
      "/mnt\nimage_dir = ", SHAREPLANE_GUEST_DIR, "\nconsole_log_dir = ", work,
      "/console\nshutdown_timeout = 5\n[libvirt]\nconnection_uri = "
      "qemu:///system\nvirt_type = qemu\n",
      extra);
}

// A server of the guest image `image` ("tiny", or "hotplug": see
// tests/support/guest-image), booted once and, with `stop`, stopped so that
// shares can be attached. Its domain never outlives the test.
class Guest {
 public:
  explicit Guest(Stack& stack, const std::string& image = "tiny",
                 bool stop = true)
      : stack_(stack) {
    const int flavor = stack_
                           .Api("POST", "/v2.1/flavors",
                                R"({"flavor": {"name": "g1", "ram": 256,
                                    "vcpus": 1, "disk": 1, "id": "g1"}})",
                                "admin:admin")
                           .status;
    REQUIRE((flavor == 200 || flavor == 409));  // 409: a second guest
    HttpResponse c = stack_.Api("POST", "/v2.1/servers",
                                json{{"server",
                                      {{"name", "guest"},
                                       {"flavorRef", "g1"},
                                       {"imageRef", image},
                                       {"networks", "none"}}}}
                                    .dump());
    REQUIRE(c.status == 202);
    id_ = json::parse(c.body)["server"]["id"];
    CHECK(
        json::parse(stack_.Api("GET", base()).body)["server"]["image"]["id"] ==
        image);
    REQUIRE(WaitStatus("ACTIVE"));
    if (stop) Action(R"({"os-stop": null})", "SHUTOFF");
  }
  ~Guest() {
    for (const std::string& uri : LibvirtUris()) {
      for (const char* verb : {"destroy", "undefine"}) {
        Process virsh("virsh",
                      {"/usr/bin/virsh", "-c", uri, verb, "instance-" + id_});
        WaitUntil([&] { return !virsh.running(); }, std::chrono::seconds(30));
      }
    }
  }
  const std::string& id() const { return id_; }
  std::string base() const { return "/v2.1/servers/" + id_; }
  bool WaitStatus(const std::string& status) {
    return WaitUntil(
        [&] {
          return json::parse(
                     stack_.Api("GET", base()).body)["server"]["status"] ==
                 status;
        },
        std::chrono::seconds(60));
  }
  void Action(const std::string& body, const std::string& then_status) {
    REQUIRE(stack_.Api("POST", base() + "/action", body).status == 202);
    REQUIRE(WaitStatus(then_status));
  }
  // Attaches and waits for `then_status`: inactive on a stopped server,
  // active on a running one. `level` "ro" asks for a read-only attachment.
  void Attach(const std::string& share, const std::string& tag,
              const std::string& then_status = "inactive",
              const std::string& level = "") {
    json body = {{"share", {{"share_id", share}, {"tag", tag}}}};
    if (!level.empty()) body["share"]["access_level"] = level;
    REQUIRE(stack_.Api("POST", base() + "/shares", body.dump()).status == 201);
    REQUIRE(
        WaitUntil([&] { return stack_.ShareStatus(id_, share) == then_status; },
                  std::chrono::seconds(60)));
  }
  void Detach(const std::string& share) {
    REQUIRE(stack_.Api("DELETE", base() + "/shares/" + share).status == 200);
    REQUIRE(WaitUntil([&] { return stack_.ShareStatus(id_, share).empty(); },
                      std::chrono::seconds(60)));
  }
  void Delete() {
    REQUIRE(stack_.Api("DELETE", base()).status == 204);
    REQUIRE(WaitUntil([&] { return stack_.Api("GET", base()).status == 404; },
                      std::chrono::seconds(60)));
  }

 private:
  Stack& stack_;
  std::string id_;
};

// A running guest of the hotplug image with its console.
class LiveGuest {
 public:
  LiveGuest(Stack& stack, const std::string& consoles)
      : guest_(stack, "hotplug", /*stop=*/false),
        console_(consoles + "/instance-" + guest_.id() + ".log") {
    // The init announces itself with its SMBIOS uuid: the server's.
    const std::regex said("GUEST: hot-plug mode as ([0-9a-f-]+)");
    std::string announced;
    if (!WaitUntil(
            [&] {
              const std::string log = Slurp(console_);
              std::smatch m;
              if (std::regex_search(log, m, said)) announced = m[1].str();
              return !announced.empty() && Ticks() > 0;
            },
            std::chrono::seconds(120))) {
      FAIL("guest console:\n" << Slurp(console_));
    }
    id_ = guest_.id();
    CHECK(announced == id_);
  }
  Guest& guest() { return guest_; }
  const std::string& id() const { return id_; }
  std::string Console() const { return Slurp(console_); }
  // Waits for `text` on the console; fails the test with the console if it
  // does not come.
  void Await(const std::string& text, int seconds = 60) {
    if (!WaitUntil([&] { return absl::StrContains(Console(), text); },
                   std::chrono::seconds(seconds))) {
      FAIL("no '" << text << "' on the guest console:\n" << Console());
    }
  }
  // The last "GUEST: tick N" of the console.
  int Ticks() const {
    const std::string log = Slurp(console_);
    const std::regex tick("GUEST: tick ([0-9]+)");
    int n = 0;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), tick);
         it != std::sregex_iterator(); ++it) {
      n = std::stoi((*it)[1].str());
    }
    return n;
  }
  // The guest lets go of `tag` in the share at `dir` (it polls for
  // release-<id>) and says so.
  void Release(const std::string& dir, const std::string& tag) {
    std::ofstream(dir + "/release-" + id_) << "";
    Await("GUEST: " + tag + " unmounted");
  }
  // Keeps running: two more ticks come.
  bool KeepsTicking() {
    const int now = Ticks();
    return WaitUntil([&] { return Ticks() >= now + 2; },
                     std::chrono::seconds(30));
  }

 private:
  Guest guest_;
  std::string console_;
  std::string id_;
};

// A share of the emulator whose export directory holds hello.txt.
inline std::string NfsShare(Stack& stack, const std::string& exports,
                            const std::string& hello, std::string* dir) {
  const std::string share = stack.CreateShare("NFS");
  *dir = exports + "/share-" + share;
  REQUIRE(std::filesystem::is_directory(*dir));
  std::ofstream(*dir + "/hello.txt") << hello;
  return share;
}

// `work` with its exports and console directories made.
inline std::string Prepared(const std::string& work) {
  std::filesystem::create_directories(work + "/exports");
  std::filesystem::create_directories(work + "/console");
  return work;
}

// The fixture's one-node Ceph cluster (tests/support/ceph), and the test's
// own ceph-fuse view of the whole CephFS at `root`, to put and find files;
// unmounted at the end.
struct CephView {
  std::map<std::string, std::string> env;  // ceph.env: CEPH_CONF, CEPH_MONS
  std::string root;
  explicit CephView(std::string at) : root(std::move(at)) {
    std::ifstream in(TestServices::Get().services_dir + "/ceph.env");
    for (std::string line; std::getline(in, line);) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos)
        env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    REQUIRE(!env["CEPH_CONF"].empty());
    std::filesystem::create_directories(root);
    Process fuse("ceph-fuse", {"/usr/bin/ceph-fuse", "-c", env["CEPH_CONF"],
                               "--id", "admin", root});
    REQUIRE(WaitUntil([&] { return Mounted(root); }, std::chrono::seconds(30)));
  }
  ~CephView() {
    Process u("umount", {"/usr/bin/umount", root});
    WaitUntil([&] { return !u.running(); }, std::chrono::seconds(10));
  }
  // The agent mounts with ceph-fuse; the emulator exports from the mons.
  std::string AgentConfig() {
    return "ceph_mount_type = fuse\nceph_conf = " + env["CEPH_CONF"] + "\n";
  }
  std::string EmulatorFlag() { return "--cephfs_mons=" + env["CEPH_MONS"]; }
  // Where a share's files are.
  std::string ShareDir(const std::string& share) const {
    return root + "/volumes/_nogroup/" + share;
  }
};

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_INTEGRATION_GUEST_SUPPORT_H_
