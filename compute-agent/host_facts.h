// What this host can do, as reported to the conductor: identity, versions
// and traits (spec/SHARES.md section 4).
#ifndef SHAREPLANE_COMPUTE_AGENT_HOST_FACTS_H_
#define SHAREPLANE_COMPUTE_AGENT_HOST_FACTS_H_

#include <string>
#include <vector>

#include "common/core/config.h"
#include "compute-agent/hypervisor.h"

namespace shareplane {

struct HostSettings {
  std::string hostname;
  std::string storage_ip;
  std::string agent_endpoint;
  // [libvirt] shared_memory: memfd | file | none.
  std::string shared_memory = "memfd";
  // [libvirt] file_backed_memory in MiB; > 0 means configured.
  int file_backed_memory_mb = 0;
  // [libvirt] virtiofsd_path, else what QEMU's vhost-user descriptors name
  // (FindVirtiofsd).
  std::string virtiofsd_path;
  // [compute] shutdown_timeout + kStopReserve (hypervisor.h).
  int stop_budget_seconds = 65;
};

// Reads [DEFAULT] host/my_ip, [compute] storage_ip, [libvirt] ...; the agent
// endpoint is my_ip:agent_port.
HostSettings HostSettingsFrom(const Config& config, int agent_port);

// COMPUTE_STORAGE_VIRTIO_FS: libvirt >= 6.2 and either QEMU >= 5.0 with a
// virtiofsd present, or libvirt's test driver (which models such a host).
// COMPUTE_MEM_BACKING_FILE: file-backed memory configured.
// CUSTOM_MEM_BACKING_MEMFD: shared_memory = memfd with libvirt >= 4.10 and
// QEMU >= 4.0 (or the test driver).
// The virtiofsd binary named by the first vhost-user descriptor of type
// "fs" in `descriptor_dirs` (QEMU's interop convention, as libvirt looks it
// up), lowest file name first; "" if none.
std::string FindVirtiofsd(const std::vector<std::string>& descriptor_dirs = {
                              "/etc/qemu/vhost-user",
                              "/usr/share/qemu/vhost-user"});

std::vector<std::string> ComputeTraits(const HypervisorInfo& info,
                                       const HostSettings& settings,
                                       bool virtiofsd_present);

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_HOST_FACTS_H_
