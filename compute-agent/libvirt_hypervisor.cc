#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/test_point.h"
#include "compute-agent/call_scope.h"
#include "compute-agent/hypervisor.h"

namespace shareplane {
namespace {

std::string LastError() {
  virErrorPtr e = virGetLastError();
  return e != nullptr && e->message != nullptr ? e->message : "unknown error";
}

virConnectPtr Conn(void* p) { return static_cast<virConnectPtr>(p); }

}  // namespace

std::string VersionString(unsigned long v) {
  return absl::StrCat(v / 1000000, ".", (v / 1000) % 1000, ".", v % 1000);
}

LibvirtHypervisor::LibvirtHypervisor(std::string uri,
                                     std::chrono::milliseconds shutdown_timeout)
    : uri_(std::move(uri)), shutdown_timeout_(shutdown_timeout) {}

LibvirtHypervisor::~LibvirtHypervisor() {
  if (conn_ != nullptr) virConnectClose(Conn(conn_));
}

absl::Status LibvirtHypervisor::EnsureConnectedLocked() {
  if (conn_ != nullptr && virConnectIsAlive(Conn(conn_)) == 1) {
    return absl::OkStatus();
  }
  if (conn_ != nullptr) {
    virConnectClose(Conn(conn_));
    conn_ = nullptr;
  }
  conn_ = virConnectOpen(uri_.c_str());
  if (conn_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("Cannot connect to libvirt at '",
                                               uri_, "': ", LastError()));
  }
  return absl::OkStatus();
}

absl::StatusOr<HypervisorInfo> LibvirtHypervisor::Info() {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  HypervisorInfo info;
  if (virConnectGetLibVersion(Conn(conn_), &info.libvirt_version) < 0) {
    return absl::UnavailableError(
        absl::StrCat("virConnectGetLibVersion: ", LastError()));
  }
  const char* type = virConnectGetType(Conn(conn_));
  info.type = type != nullptr ? type : "";
  if (virConnectGetVersion(Conn(conn_), &info.hypervisor_version) < 0) {
    info.hypervisor_version = 0;
  }
  virNodeInfo node;
  if (virNodeGetInfo(Conn(conn_), &node) == 0) {
    info.memory_mb = static_cast<int64_t>(node.memory / 1024);
    info.vcpus = static_cast<int>(node.cpus);
  }
  return info;
}

const char* DomainStateName(DomainState s) {
  switch (s) {
    case DomainState::kAbsent:
      return "absent";
    case DomainState::kShutoff:
      return "shutoff";
    case DomainState::kRunning:
      return "running";
  }
  return "absent";
}

namespace {

absl::Status LibvirtError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", LastError()));
}

// virDomainIsActive: -1 is libvirt failing to tell, never "not running"
// (reading it so could release mounts under a live guest).
absl::StatusOr<bool> IsActive(virDomainPtr d) {
  const int active = virDomainIsActive(d);
  if (active < 0) return LibvirtError("virDomainIsActive");
  return active == 1;
}

// Powers a running domain off at once; OK when it went off anyway.
absl::Status DestroyDomain(virDomainPtr d) {
  if (virDomainDestroy(d) < 0 && virDomainIsActive(d) != 0) {
    return LibvirtError("virDomainDestroy");
  }
  return absl::OkStatus();
}

// Owns a virDomainPtr.
struct Domain {
  virDomainPtr ptr;
  explicit Domain(virDomainPtr p) : ptr(p) {}
  ~Domain() {
    if (ptr != nullptr) virDomainFree(ptr);
  }
};

}  // namespace

absl::Status LibvirtHypervisor::DefineDomain(const std::string& xml) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainDefineXML(Conn(conn_), xml.c_str()));
  if (d.ptr == nullptr) return LibvirtError("virDomainDefineXML");
  return absl::OkStatus();
}

absl::Status LibvirtHypervisor::StartDomain(const std::string& name) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) {
    return absl::NotFoundError(absl::StrCat("No domain '", name, "'"));
  }
  auto active = IsActive(d.ptr);
  if (!active.ok()) return active.status();
  if (*active) return absl::OkStatus();
  if (virDomainCreate(d.ptr) < 0) return LibvirtError("virDomainCreate");
  return absl::OkStatus();
}

absl::Status LibvirtHypervisor::StopDomain(const std::string& name) {
  ReleasableMutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) return absl::OkStatus();
  auto active = IsActive(d.ptr);
  if (!active.ok()) return active.status();
  if (!*active) return absl::OkStatus();
  // Graceful first: the guest gets `shutdown_timeout_` to power off, cut
  // so that the destroy and the caller's remaining steps still fit in the
  // caller's deadline (kStopReserve before it). The connection lock is not
  // held while waiting. A caller that gives up ends the wait: the guest
  // keeps its shutdown request, and the caller asks for the state.
  const auto now = std::chrono::steady_clock::now();
  auto deadline = now + shutdown_timeout_;
  const auto call_deadline = CallDeadline();
  if (call_deadline - now < shutdown_timeout_ + kStopReserve) {
    deadline = std::max(now, call_deadline - kStopReserve);
  }
  if (deadline <= now || virDomainShutdown(d.ptr) != 0) {
    return DestroyDomain(d.ptr);
  }
  lock.Release();
  // Where a test holds a guest that takes its time (or ignores ACPI).
  TestPoint("stop.guest_shutting_down");
  while (std::chrono::steady_clock::now() < deadline &&
         virDomainIsActive(d.ptr) != 0) {
    if (CallCancelled()) {
      return absl::CancelledError(absl::StrCat(
          "The caller gave up while domain ", name, " was shutting down"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  MutexLock relock(&mu_);
  active = IsActive(d.ptr);
  if (!active.ok()) return active.status();
  if (!*active) {
    SP_LOG(Info) << "Domain " << name << " shut down";
    return absl::OkStatus();
  }
  SP_LOG(Warning) << "Domain " << name << " still running after "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - now)
                         .count()
                  << " ms; destroying it";
  return DestroyDomain(d.ptr);
}

absl::Status LibvirtHypervisor::RebootDomain(const std::string& name) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) {
    return absl::NotFoundError(absl::StrCat("No domain '", name, "'"));
  }
  if (virDomainReboot(d.ptr, 0) < 0) return LibvirtError("virDomainReboot");
  return absl::OkStatus();
}

absl::Status LibvirtHypervisor::UndefineDomain(const std::string& name) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) return absl::OkStatus();
  auto active = IsActive(d.ptr);
  if (!active.ok()) return active.status();
  if (*active && virDomainDestroy(d.ptr) < 0) {
    return LibvirtError("virDomainDestroy");
  }
  if (virDomainUndefine(d.ptr) < 0) return LibvirtError("virDomainUndefine");
  return absl::OkStatus();
}

absl::StatusOr<DomainState> LibvirtHypervisor::GetDomainState(
    const std::string& name) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) return DomainState::kAbsent;
  auto active = IsActive(d.ptr);
  if (!active.ok()) return active.status();
  return *active ? DomainState::kRunning : DomainState::kShutoff;
}

absl::StatusOr<std::vector<std::string>> LibvirtHypervisor::ListDomainXml() {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  virDomainPtr* domains = nullptr;
  int n = virConnectListAllDomains(Conn(conn_), &domains, 0);
  if (n < 0) return LibvirtError("virConnectListAllDomains");
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char* xml = virDomainGetXMLDesc(domains[i], VIR_DOMAIN_XML_INACTIVE);
    if (xml != nullptr) {
      out.emplace_back(xml);
      free(xml);
    }
    virDomainFree(domains[i]);
  }
  free(domains);
  return out;
}

absl::StatusOr<std::string> LibvirtHypervisor::GetDomainXml(
    const std::string& name, bool live) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) {
    return absl::NotFoundError(absl::StrCat("No domain '", name, "'"));
  }
  char* xml = virDomainGetXMLDesc(d.ptr, live ? 0 : VIR_DOMAIN_XML_INACTIVE);
  if (xml == nullptr) return LibvirtError("virDomainGetXMLDesc");
  std::string out(xml);
  free(xml);
  return out;
}

namespace {
unsigned int AffectFlags(bool live, bool config) {
  return (live ? VIR_DOMAIN_AFFECT_LIVE : 0) |
         (config ? VIR_DOMAIN_AFFECT_CONFIG : 0);
}
}  // namespace

absl::Status LibvirtHypervisor::AttachDevice(const std::string& name,
                                             const std::string& device_xml,
                                             bool live, bool config) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  if (d.ptr == nullptr) {
    return absl::NotFoundError(absl::StrCat("No domain '", name, "'"));
  }
  if (virDomainAttachDeviceFlags(d.ptr, device_xml.c_str(),
                                 AffectFlags(live, config)) < 0) {
    return LibvirtError("virDomainAttachDeviceFlags");
  }
  return absl::OkStatus();
}

absl::Status LibvirtHypervisor::DetachDevice(const std::string& name,
                                             const std::string& device_xml,
                                             bool live, bool config) {
  ReleasableMutexLock lock(&mu_);
  if (absl::Status s = EnsureConnectedLocked(); !s.ok()) return s;
  // The domain keeps its connection alive while the lock is released.
  Domain d(virDomainLookupByName(Conn(conn_), name.c_str()));
  lock.Release();
  if (d.ptr == nullptr) {
    return absl::NotFoundError(absl::StrCat("No domain '", name, "'"));
  }
  // libvirt waits a few seconds for the guest, then answers 0 and lets
  // the removal finish in the background.
  if (virDomainDetachDeviceFlags(d.ptr, device_xml.c_str(),
                                 AffectFlags(live, config)) < 0) {
    return LibvirtError("virDomainDetachDeviceFlags");
  }
  return absl::OkStatus();
}

}  // namespace shareplane
