#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "compute-agent/host_facts.h"
#include "conductor/workflow.h"

using namespace shareplane;

namespace {
bool Has(const std::vector<std::string>& v, const std::string& t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}
}  // namespace

TEST_CASE("a modern QEMU host with virtiofsd gets virtiofs and memfd traits",
          "[unit]") {
  HypervisorInfo info{9000000, "QEMU", 7002022};
  HostSettings s;
  auto t = ComputeTraits(info, s, true);
  CHECK(Has(t, "COMPUTE_STORAGE_VIRTIO_FS"));
  CHECK(Has(t, "CUSTOM_MEM_BACKING_MEMFD"));
  CHECK_FALSE(Has(t, "COMPUTE_MEM_BACKING_FILE"));
}

TEST_CASE("no virtiofsd or old QEMU means no virtiofs trait", "[unit]") {
  HostSettings s;
  CHECK_FALSE(Has(ComputeTraits({9000000, "QEMU", 7002022}, s, false),
                  "COMPUTE_STORAGE_VIRTIO_FS"));
  CHECK_FALSE(Has(ComputeTraits({9000000, "QEMU", 4002000}, s, true),
                  "COMPUTE_STORAGE_VIRTIO_FS"));
  CHECK_FALSE(Has(ComputeTraits({6001000, "QEMU", 7002022}, s, true),
                  "COMPUTE_STORAGE_VIRTIO_FS"));
}

TEST_CASE("file-backed memory and shared_memory settings drive traits",
          "[unit]") {
  HostSettings s;
  s.file_backed_memory_mb = 4096;
  s.shared_memory = "none";
  auto t = ComputeTraits({9000000, "QEMU", 7002022}, s, true);
  CHECK(Has(t, "COMPUTE_MEM_BACKING_FILE"));
  CHECK_FALSE(Has(t, "CUSTOM_MEM_BACKING_MEMFD"));
}

TEST_CASE("access rules match ip networks and cephx ids", "[unit]") {
  std::vector<ManilaAccessRule> rules = {
      {"r1", "ip", "10.0.0.5/32", "rw", "active", ""},
      {"r2", "cephx", "nova", "rw", "active", "KEY"}};
  CHECK(FindRule(rules, {"ip", "10.0.0.5"})->id == "r1");
  CHECK(FindRule(rules, {"cephx", "nova"})->id == "r2");
  CHECK_FALSE(FindRule(rules, {"ip", "10.0.0.6"}).has_value());
  CHECK_FALSE(FindRule(rules, {"cephx", "other"}).has_value());
}

TEST_CASE("the preferred export location wins, else the first", "[unit]") {
  CHECK(*PickExportLocation({{"a", "h:/a", false}, {"b", "h:/b", true}}) ==
        "h:/b");
  CHECK(*PickExportLocation({{"a", "h:/a", false}, {"b", "h:/b", false}}) ==
        "h:/a");
  CHECK_FALSE(PickExportLocation({}).ok());
}

TEST_CASE("virtiofsd is found through QEMU's vhost-user descriptors",
          "[unit]") {
  char tmpl[] = "/tmp/sp-vhost.XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/10-gpu.json")
      << R"({"type": "gpu", "binary": "/usr/lib/qemu/vhost-user-gpu"})";
  std::ofstream(dir + "/50-virtiofsd.json")
      << R"({"description": "virtiofsd", "type": "fs",
             "binary": "/usr/libexec/virtiofsd"})";
  std::ofstream(dir + "/60-other.json")
      << R"({"type": "fs", "binary": "/opt/other"})";
  std::ofstream(dir + "/broken.json") << "{not json";
  CHECK(FindVirtiofsd({"/nonexistent", dir}) == "/usr/libexec/virtiofsd");
  CHECK(FindVirtiofsd({"/nonexistent"}).empty());
  std::filesystem::remove_all(dir);
}
