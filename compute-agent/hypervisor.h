// The hypervisor seam of the compute agent. LibvirtHypervisor is the real
// implementation (any libvirt URI; tests use the test:/// driver).
#ifndef SHAREPLANE_COMPUTE_AGENT_HYPERVISOR_H_
#define SHAREPLANE_COMPUTE_AGENT_HYPERVISOR_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/core/mutex.h"

namespace shareplane {

struct HypervisorInfo {
  // Versions encoded as major * 1000000 + minor * 1000 + micro.
  unsigned long libvirt_version = 0;
  std::string type;  // libvirt's driver name: "QEMU", "TEST", ...
  unsigned long hypervisor_version = 0;
  int64_t memory_mb = 0;
  int vcpus = 0;
  // Hot-plugs devices whatever the versions say (the twin). QEMU's is
  // decided from libvirt_version (ComputeTraits); libvirt's test driver
  // refuses virDomainAttachDeviceFlags.
  bool device_hotplug = false;
};

// The first libvirt that hot-plugs virtiofs filesystems.
inline constexpr unsigned long kLibvirtVirtiofsHotplug = 7009000;

std::string VersionString(unsigned long v);

// What a stop keeps back from its caller's deadline for the destroy, the
// release of mounts and the answer: the graceful shutdown gets the rest.
inline constexpr std::chrono::seconds kStopReserve{5};

enum class DomainState { kAbsent, kShutoff, kRunning };
const char* DomainStateName(DomainState s);

// Domains are addressed by name. Every call is idempotent where the
// operation allows: starting a running domain or stopping a stopped one is
// OK. Codes: Unavailable (cannot reach the hypervisor), NotFound (no such
// domain where one is needed), Internal (libvirt refused).
class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual absl::StatusOr<HypervisorInfo> Info() = 0;
  // Defines the domain, or redefines it (its next boot) if it exists.
  virtual absl::Status DefineDomain(const std::string& xml) = 0;
  virtual absl::Status StartDomain(const std::string& name) = 0;
  virtual absl::Status StopDomain(const std::string& name) = 0;
  virtual absl::Status RebootDomain(const std::string& name) = 0;
  virtual absl::Status UndefineDomain(const std::string& name) = 0;
  virtual absl::StatusOr<DomainState> GetDomainState(
      const std::string& name) = 0;
  // Inactive XML of every defined domain, for recovery at start.
  virtual absl::StatusOr<std::vector<std::string>> ListDomainXml() = 0;
  // One domain's XML: the running domain's (`live`) or its persistent
  // definition's. NotFound when there is no such domain.
  virtual absl::StatusOr<std::string> GetDomainXml(const std::string& name,
                                                   bool live) = 0;
  // Hot-plugs one device into the running domain (`live`) and/or its
  // definition (`config`).
  virtual absl::Status AttachDevice(const std::string& name,
                                    const std::string& device_xml, bool live,
                                    bool config) = 0;
  // Asks for the device's removal and returns once libvirt took the
  // request: the running domain lets go of it when the guest does, so
  // callers poll GetDomainXml(live) to see it gone.
  virtual absl::Status DetachDevice(const std::string& name,
                                    const std::string& device_xml, bool live,
                                    bool config) = 0;
};

// Thread-safe; reconnects if the connection was lost.
class LibvirtHypervisor : public Hypervisor {
 public:
  // StopDomain asks the guest to shut down (ACPI) and destroys it when it
  // is still running after `shutdown_timeout`; zero destroys at once.
  explicit LibvirtHypervisor(
      std::string uri,
      std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(60));
  ~LibvirtHypervisor() override;
  absl::StatusOr<HypervisorInfo> Info() override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DefineDomain(const std::string& xml) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status StartDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // Waits for the guest's shutdown without the lock.
  absl::Status StopDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RebootDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status UndefineDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DomainState> GetDomainState(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<std::string>> ListDomainXml() override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::string> GetDomainXml(const std::string& name,
                                           bool live) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AttachDevice(const std::string& name,
                            const std::string& device_xml, bool live,
                            bool config) override ABSL_LOCKS_EXCLUDED(mu_);
  // Calls libvirt without the connection lock: it may wait seconds for
  // the guest.
  absl::Status DetachDevice(const std::string& name,
                            const std::string& device_xml, bool live,
                            bool config) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status EnsureConnectedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const std::string uri_;
  const std::chrono::milliseconds shutdown_timeout_;
  Mutex mu_;
  // virConnectPtr; libvirt stays out of this header. Reopened by
  // EnsureConnectedLocked when the connection died.
  void* conn_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_HYPERVISOR_H_
