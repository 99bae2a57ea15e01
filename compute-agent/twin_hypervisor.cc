#include "compute-agent/twin_hypervisor.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace shareplane {
namespace {

// The text between <tag> and </tag>, "" when absent.
std::string Element(const std::string& xml, const std::string& tag) {
  const size_t a = xml.find("<" + tag + ">");
  const size_t b = xml.find("</" + tag + ">");
  if (a == std::string::npos || b == std::string::npos) return "";
  return xml.substr(a + tag.size() + 2, b - a - tag.size() - 2);
}

// [begin, end) of each <filesystem ...>...</filesystem> element.
std::vector<std::pair<size_t, size_t>> FilesystemSpans(const std::string& xml) {
  std::vector<std::pair<size_t, size_t>> out;
  const std::string close = "</filesystem>";
  size_t pos = 0;
  while ((pos = xml.find("<filesystem ", pos)) != std::string::npos) {
    const size_t end = xml.find(close, pos);
    if (end == std::string::npos) break;
    out.emplace_back(pos, end + close.size());
    pos = end;
  }
  return out;
}

std::string TargetOf(const std::string& element) {
  for (const char* key : {"<target dir='", "<target dir=\""}) {
    const size_t a = element.find(key);
    if (a == std::string::npos) continue;
    const size_t start = a + std::string(key).size();
    const size_t b = element.find(key[std::string(key).size() - 1], start);
    return element.substr(start, b - start);
  }
  return "";
}

absl::Status Insert(std::string& xml, const std::string& device) {
  const std::string tag = TargetOf(device);
  for (const std::string& t : FilesystemTags(xml)) {
    if (t == tag) {
      return absl::InternalError(
          absl::StrCat("virDomainAttachDeviceFlags: filesystem target '", tag,
                       "' specified twice"));
    }
  }
  const size_t at = xml.find("</devices>");
  if (at == std::string::npos) {
    return absl::InternalError("virDomainAttachDeviceFlags: no <devices>");
  }
  xml.insert(at, "    " + device + "\n  ");
  return absl::OkStatus();
}

absl::Status Remove(std::string& xml, const std::string& tag) {
  for (const auto& [begin, end] : FilesystemSpans(xml)) {
    if (TargetOf(xml.substr(begin, end - begin)) == tag) {
      xml.erase(begin, end - begin);
      return absl::OkStatus();
    }
  }
  return absl::InternalError(
      "virDomainDetachDeviceFlags: device not found: matching filesystem not "
      "found");
}

absl::Status NoDomain(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("No domain '", name, "'"));
}

}  // namespace

std::vector<std::string> FilesystemTags(const std::string& xml) {
  std::vector<std::string> out;
  for (const auto& [begin, end] : FilesystemSpans(xml)) {
    out.push_back(TargetOf(xml.substr(begin, end - begin)));
  }
  return out;
}

TwinHypervisor::TwinHypervisor(std::string control_dir)
    : control_dir_(std::move(control_dir)) {
  std::error_code ec;
  std::filesystem::create_directories(control_dir_, ec);
}

bool TwinHypervisor::Control(const std::string& file, std::string* text) const {
  std::ifstream in(control_dir_ + "/" + file);
  if (!in) return false;
  if (text != nullptr) {
    std::stringstream s;
    s << in.rdbuf();
    *text = s.str();
    while (!text->empty() && text->back() == '\n') text->pop_back();
  }
  return true;
}

void TwinHypervisor::PublishLocked(const std::string& name, const Domain& d) {
  const std::string path = control_dir_ + "/" + name + ".live.xml";
  if (d.live.empty()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return;
  }
  std::ofstream(path + ".tmp") << d.live;
  std::error_code ec;
  std::filesystem::rename(path + ".tmp", path, ec);
}

absl::StatusOr<HypervisorInfo> TwinHypervisor::Info() {
  HypervisorInfo info;
  info.libvirt_version = 9000000;
  info.type = "TWIN";
  info.hypervisor_version = 7002000;
  info.memory_mb = 64 * 1024;
  info.vcpus = 64;
  info.device_hotplug = true;
  return info;
}

absl::Status TwinHypervisor::DefineDomain(const std::string& xml) {
  const std::string name = Element(xml, "name");
  if (name.empty()) return absl::InternalError("virDomainDefineXML: no name");
  MutexLock lock(&mu_);
  domains_[name].config = xml;
  return absl::OkStatus();
}

absl::Status TwinHypervisor::StartDomain(const std::string& name) {
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return NoDomain(name);
  if (it->second.live.empty()) it->second.live = it->second.config;
  PublishLocked(name, it->second);
  return absl::OkStatus();
}

absl::Status TwinHypervisor::StopDomain(const std::string& name) {
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return absl::OkStatus();
  it->second.live.clear();
  PublishLocked(name, it->second);
  return absl::OkStatus();
}

absl::Status TwinHypervisor::RebootDomain(const std::string& name) {
  MutexLock lock(&mu_);
  if (!domains_.count(name)) return NoDomain(name);
  return absl::OkStatus();
}

absl::Status TwinHypervisor::UndefineDomain(const std::string& name) {
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return absl::OkStatus();
  it->second.live.clear();
  PublishLocked(name, it->second);
  domains_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<DomainState> TwinHypervisor::GetDomainState(
    const std::string& name) {
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return DomainState::kAbsent;
  return it->second.live.empty() ? DomainState::kShutoff
                                 : DomainState::kRunning;
}

absl::StatusOr<std::vector<std::string>> TwinHypervisor::ListDomainXml() {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [name, d] : domains_) out.push_back(d.config);
  return out;
}

absl::StatusOr<std::string> TwinHypervisor::GetDomainXml(
    const std::string& name, bool live) {
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return NoDomain(name);
  // As libvirt: a shut-off domain's live XML is its definition.
  return live && !it->second.live.empty() ? it->second.live : it->second.config;
}

absl::Status TwinHypervisor::AttachDevice(const std::string& name,
                                          const std::string& device_xml,
                                          bool live, bool config) {
  std::string failure;
  if (Control("fail-attach", &failure)) {
    return absl::InternalError(
        absl::StrCat("virDomainAttachDeviceFlags: ", failure));
  }
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return NoDomain(name);
  Domain next = it->second;
  if (live) {
    if (next.live.empty()) {
      return absl::InternalError(
          "virDomainAttachDeviceFlags: Requested operation is not valid: "
          "domain is not running");
    }
    if (absl::Status s = Insert(next.live, device_xml); !s.ok()) return s;
  }
  if (config) {
    if (absl::Status s = Insert(next.config, device_xml); !s.ok()) return s;
  }
  it->second = std::move(next);
  PublishLocked(name, it->second);
  return absl::OkStatus();
}

absl::Status TwinHypervisor::DetachDevice(const std::string& name,
                                          const std::string& device_xml,
                                          bool live, bool config) {
  const bool stuck = Control("stuck-detach");
  MutexLock lock(&mu_);
  auto it = domains_.find(name);
  if (it == domains_.end()) return NoDomain(name);
  const std::string tag = TargetOf(device_xml);
  Domain next = it->second;
  if (live) {
    if (next.live.empty()) {
      return absl::InternalError(
          "virDomainDetachDeviceFlags: Requested operation is not valid: "
          "domain is not running");
    }
    std::string probe = next.live;
    if (absl::Status s = Remove(probe, tag); !s.ok()) return s;
    if (!stuck) next.live = std::move(probe);
  }
  if (config) {
    if (absl::Status s = Remove(next.config, tag); !s.ok()) return s;
  }
  it->second = std::move(next);
  PublishLocked(name, it->second);
  return absl::OkStatus();
}

}  // namespace shareplane
