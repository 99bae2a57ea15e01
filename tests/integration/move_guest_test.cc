// A real guest moves between two QEMU hosts with its share (BEYOND.md
// section 4): two agents on this machine, each on its own libvirtd
// (tests/support/libvirtd starts the second), TCG. The "hotplug" guest
// image reads and writes its NFS share (through the bind-mount helper) on
// the source; it is cold-migrated, boots on the destination with the
// share in its definition, and answers there through the share; the
// confirm leaves nothing on the source.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/guest_support.h"

using namespace shareplane;
using namespace shareplane::testing;

namespace {

// The guest answers ask-<id> with answer-<id>.txt through the share at
// `dir`: a read and a write on whichever host runs it now. (The answer
// file is overwritten, never removed first: the guest's virtiofs may still
// hold the removed file's dentry for a second, and write to that.)
bool Answers(const std::string& dir, const std::string& id,
             const std::string& word) {
  std::ofstream(dir + "/ask-" + id) << word;
  return WaitUntil(
      [&] { return Slurp(dir + "/answer-" + id + ".txt") == word + "\n"; },
      std::chrono::seconds(90));
}

}  // namespace

TEST_CASE("a running QEMU guest migrates with its NFS share", "[e2e][guest]") {
  const std::string second_uri = SecondLibvirtUri();
  REQUIRE_FALSE(second_uri.empty());
  const std::string work = Prepared(UniqueName("/tmp/sp-move-guest"));
  const std::string exports = work + "/exports", consoles = work + "/console";
  Stack stack(GuestConfig(
      work, absl::StrCat("nfs_mount_options = vers=4.2\n[compute]\n"
                         "mount_helper = ",
                         SHAREPLANE_SOURCE_DIR,
                         "/tests/support/bind-mount-helper\n"
                         "[conductor]\nhost_audit_interval = 3600\n")));
  stack.StartEmulator(30, {"--export_root=" + exports});
  stack.StartConductor();
  stack.StartCompute("hv1");
  const std::string second_mounts = SecondMountBase() + "/" + UniqueName("hv2");
  stack.StartCompute("hv2", "",
                     {"--libvirt.connection_uri=" + second_uri,
                      "--compute.mount_base=" + second_mounts});
  stack.StartApi();
  const std::map<std::string, std::string> uri = {{"hv1", "qemu:///system"},
                                                  {"hv2", second_uri}};
  auto host_of = [&](const std::string& id) {
    return json::parse(
               stack.Api("GET", "/v2.1/servers/" + id, "", "admin:admin")
                   .body)["server"]["OS-EXT-SRV-ATTR:host"]
        .get<std::string>();
  };

  LiveGuest g(stack, consoles);
  const std::string& id = g.id();
  std::string dir;
  const std::string share = NfsShare(stack, exports, "hello before", &dir);
  g.guest().Attach(share, "data", "active");
  g.Await("GUEST: data says: hello before");
  REQUIRE(Answers(dir, id, "on-the-source"));
  const std::string source = host_of(id);
  const std::string dest = source == "hv1" ? "hv2" : "hv1";

  // The guest moves: stopped on the source, booted on the destination with
  // the share, the source's rule and mounts kept until the confirm.
  std::ofstream(dir + "/hello.txt") << "hello after";
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"migrate": null})", "admin:admin")
              .status == 202);
  REQUIRE(g.guest().WaitStatus("VERIFY_RESIZE"));
  CHECK(host_of(id) == dest);
  CHECK(DomState(uri.at(dest), id) == "running");
  CHECK(DomState(uri.at(source), id) == "shut off");
  CHECK(stack.ManilaRules(share).size() == 2);
  g.Await("GUEST: data says: hello after", 120);
  REQUIRE(Answers(dir, id, "on-the-destination"));
  CHECK(Slurp(dir + "/from-" + id + ".txt") ==
        "written by " + id + " through data\n");

  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/action",
                   R"({"confirmResize": null})")
              .status == 204);
  REQUIRE(g.guest().WaitStatus("ACTIVE"));
  CHECK(DomState(uri.at(source), id).empty());
  CHECK(DomState(uri.at(dest), id) == "running");
  CHECK(WaitUntil([&] { return stack.ManilaRules(share).size() == 1; }));
  // The guest on the destination goes on through the share.
  CHECK(Answers(dir, id, "confirmed"));
  g.guest().Delete();
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
}
