// The hypervisor seam of the compute agent. LibvirtHypervisor is the real
// implementation (any libvirt URI; tests use the test:/// driver).
#ifndef SHAREPLANE_COMPUTE_AGENT_HYPERVISOR_H_
#define SHAREPLANE_COMPUTE_AGENT_HYPERVISOR_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace shareplane {

struct HypervisorInfo {
  // Versions encoded as major * 1000000 + minor * 1000 + micro.
  unsigned long libvirt_version = 0;
  std::string type;  // libvirt's driver name: "QEMU", "TEST", ...
  unsigned long hypervisor_version = 0;
  int64_t memory_mb = 0;
  int vcpus = 0;
};

std::string VersionString(unsigned long v);

class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  // Unavailable when the hypervisor cannot be reached.
  virtual absl::StatusOr<HypervisorInfo> Info() = 0;
};

// Thread-safe; reconnects if the connection was lost.
class LibvirtHypervisor : public Hypervisor {
 public:
  explicit LibvirtHypervisor(std::string uri);
  ~LibvirtHypervisor() override;
  absl::StatusOr<HypervisorInfo> Info() override;

 private:
  absl::Status EnsureConnected();
  std::string uri_;
  std::mutex mu_;
  void* conn_ = nullptr;  // virConnectPtr; libvirt stays out of this header
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_HYPERVISOR_H_
