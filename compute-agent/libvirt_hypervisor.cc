#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "absl/strings/str_cat.h"
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

LibvirtHypervisor::LibvirtHypervisor(std::string uri) : uri_(std::move(uri)) {}

LibvirtHypervisor::~LibvirtHypervisor() {
  if (conn_ != nullptr) virConnectClose(Conn(conn_));
}

absl::Status LibvirtHypervisor::EnsureConnected() {
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
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
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

}  // namespace shareplane
