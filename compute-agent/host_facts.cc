#include "compute-agent/host_facts.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace shareplane {

HostSettings HostSettingsFrom(const Config& config, int agent_port) {
  HostSettings s;
  char name[256] = {0};
  gethostname(name, sizeof(name) - 1);
  s.hostname = config.GetString("DEFAULT", "host", name);
  const std::string my_ip = config.GetString("DEFAULT", "my_ip", "127.0.0.1");
  s.storage_ip = config.GetString("compute", "storage_ip", my_ip);
  s.agent_endpoint = absl::StrCat(my_ip, ":", agent_port);
  s.shared_memory = config.GetString("libvirt", "shared_memory", "memfd");
  s.file_backed_memory_mb = config.GetInt("libvirt", "file_backed_memory", 0);
  s.virtiofsd_path = config.GetString("libvirt", "virtiofsd_path", "");
  if (s.virtiofsd_path.empty()) s.virtiofsd_path = FindVirtiofsd();
  // A live detach needs no room here: its wait for the guest ends at the
  // caller's deadline (ServerDriver::AwaitUnplugged).
  s.stop_budget_seconds = config.GetInt("compute", "shutdown_timeout", 60) +
                          static_cast<int>(kStopReserve.count());
  return s;
}

std::string FindVirtiofsd(const std::vector<std::string>& descriptor_dirs) {
  for (const std::string& dir : descriptor_dirs) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f);
      const auto doc = nlohmann::json::parse(in, nullptr, false);
      if (doc.is_object() && doc.value("type", "") == "fs" &&
          doc.value("binary", "") != "") {
        return doc.value("binary", "");
      }
    }
  }
  return "";
}

std::vector<std::string> ComputeTraits(const HypervisorInfo& info,
                                       const HostSettings& settings,
                                       bool virtiofsd_present) {
  constexpr unsigned long kV = 1000000, kM = 1000;
  // The test driver and the agent's twin (twin_hypervisor.h) need no
  // QEMU or virtiofsd.
  const bool test =
      info.type == "TEST" || info.type == "Test" || info.type == "TWIN";
  const bool qemu = info.type == "QEMU";
  std::vector<std::string> traits;
  if (info.libvirt_version >= 6 * kV + 2 * kM &&
      (test ||
       (qemu && info.hypervisor_version >= 5 * kV && virtiofsd_present))) {
    traits.push_back("COMPUTE_STORAGE_VIRTIO_FS");
  }
  if (settings.file_backed_memory_mb > 0) {
    traits.push_back("COMPUTE_MEM_BACKING_FILE");
  }
  if (settings.shared_memory == "memfd" &&
      info.libvirt_version >= 4 * kV + 10 * kM &&
      (test || (qemu && info.hypervisor_version >= 4 * kV))) {
    traits.push_back("CUSTOM_MEM_BACKING_MEMFD");
  }
  // Live attach and detach: hot-plug, and shared memory in every domain
  // (memfd or a file), so a server started without shares takes one later.
  const bool virtio_fs = std::find(traits.begin(), traits.end(),
                                   "COMPUTE_STORAGE_VIRTIO_FS") != traits.end();
  const bool hotplug =
      info.device_hotplug ||
      (qemu && info.libvirt_version >= kLibvirtVirtiofsHotplug);
  if (virtio_fs && hotplug &&
      (settings.shared_memory == "memfd" || settings.shared_memory == "file")) {
    traits.push_back("CUSTOM_VIRTIOFS_HOTPLUG");
  }
  return traits;
}

}  // namespace shareplane
