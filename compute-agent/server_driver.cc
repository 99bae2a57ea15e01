#include "compute-agent/server_driver.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "compute-agent/call_scope.h"

namespace shareplane {
namespace {

std::string XmlEscape(const std::string& in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Values of attribute `attr` on elements named `element`, in order.
std::vector<std::string> Attributes(const std::string& xml,
                                    const std::string& element,
                                    const std::string& attr) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = xml.find("<" + element + " ", pos)) != std::string::npos) {
    size_t end = xml.find('>', pos);
    std::string tag = xml.substr(pos, end - pos);
    for (char quote : {'\'', '"'}) {
      std::string key = attr + "=" + quote;
      size_t a = tag.find(key);
      if (a != std::string::npos) {
        size_t b = tag.find(quote, a + key.size());
        out.push_back(tag.substr(a + key.size(), b - a - key.size()));
      }
    }
    pos = end;
  }
  return out;
}

}  // namespace

std::string DomainName(const std::string& server_uuid) {
  return "instance-" + server_uuid;
}

absl::StatusOr<BootImage> ResolveImage(const std::string& image_dir,
                                       const std::string& image_ref) {
  BootImage image;
  if (image_dir.empty() || image_ref.empty()) return image;
  if (image_ref == "." || image_ref == ".." ||
      image_ref.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                  "QRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid image name '", image_ref, "'"));
  }
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(image_dir) / image_ref;
  std::error_code ec;
  if (fs::is_regular_file(dir / "vmlinuz", ec)) {
    image.kernel = (dir / "vmlinuz").string();
    if (fs::is_regular_file(dir / "initrd.img", ec)) {
      image.initrd = (dir / "initrd.img").string();
    }
    std::ifstream in(dir / "cmdline");
    std::getline(in, image.cmdline);
    return image;
  }
  const fs::path disk = fs::path(image_dir) / (image_ref + ".qcow2");
  if (fs::is_regular_file(disk, ec)) {
    image.disk = disk.string();
    return image;
  }
  return absl::NotFoundError(
      absl::StrCat("Image '", image_ref, "' not found in ", image_dir));
}

DomainModel DomainModelFor(const agent::v1::ServerSpec& spec,
                           const std::vector<std::string>& mount_points,
                           const DomainOptions& options,
                           const BootImage& image) {
  DomainModel m;
  m.type = options.virt_type;
  m.name = DomainName(spec.server_uuid());
  m.uuid = spec.server_uuid();
  m.title = spec.name();
  m.memory_mb = spec.memory_mb();
  m.vcpus = spec.vcpus();
  m.backing = spec.huge_pages()                  ? MemoryBacking::kHugePages
              : options.shared_memory == "file"  ? MemoryBacking::kFile
              : options.shared_memory == "memfd" ? MemoryBacking::kMemfd
                                                 : MemoryBacking::kNone;
  m.boot = image;
  m.emulator = options.emulator;
  if (!options.console_dir.empty()) {
    m.console_log = absl::StrCat(options.console_dir, "/", m.name, ".log");
  }
  for (int i = 0; i < spec.filesystems_size(); ++i) {
    m.filesystems.push_back({mount_points[i], spec.filesystems(i).tag()});
  }
  return m;
}

std::string DomainXml(const DomainModel& m) {
  // Every value goes through XmlEscape; numbers are printed as numbers.
  std::string xml = absl::StrCat(
      "<domain type='", XmlEscape(m.type), "'>\n  <name>", XmlEscape(m.name),
      "</name>\n  <uuid>", XmlEscape(m.uuid), "</uuid>\n  <title>",
      XmlEscape(m.title), "</title>\n  <memory unit='MiB'>", m.memory_mb,
      "</memory>\n  <vcpu>", m.vcpus, "</vcpu>\n");
  switch (m.backing) {
    case MemoryBacking::kHugePages:
      absl::StrAppend(&xml,
                      "  <memoryBacking><hugepages/><access mode='shared'/>"
                      "</memoryBacking>\n");
      break;
    case MemoryBacking::kFile:
    case MemoryBacking::kMemfd:
      absl::StrAppend(&xml, "  <memoryBacking><source type='",
                      m.backing == MemoryBacking::kFile ? "file" : "memfd",
                      "'/><access mode='shared'/></memoryBacking>\n");
      break;
    case MemoryBacking::kNone:
      break;
  }
  if (m.boot.kernel.empty()) {
    absl::StrAppend(&xml, "  <os><type arch='x86_64'>hvm</type></os>\n");
  } else {
    absl::StrAppend(&xml,
                    "  <os><type arch='x86_64' machine='q35'>hvm</type>"
                    "<kernel>",
                    XmlEscape(m.boot.kernel), "</kernel>");
    if (!m.boot.initrd.empty()) {
      absl::StrAppend(&xml, "<initrd>", XmlEscape(m.boot.initrd), "</initrd>");
    }
    absl::StrAppend(&xml, "<cmdline>", XmlEscape(m.boot.cmdline),
                    "</cmdline></os>\n");
  }
  if (m.backing == MemoryBacking::kHugePages) {
    // Shared NUMA memory access, as huge-page virtiofs requires.
    absl::StrAppend(&xml, "  <cpu><numa><cell id='0' cpus='0-",
                    std::max(0, m.vcpus - 1), "' memory='", m.memory_mb,
                    "' unit='MiB' memAccess='shared'/></numa></cpu>\n");
  }
  absl::StrAppend(&xml, "  <features><acpi/></features>\n  <devices>\n");
  if (!m.emulator.empty()) {
    absl::StrAppend(&xml, "    <emulator>", XmlEscape(m.emulator),
                    "</emulator>\n");
  }
  if (!m.boot.disk.empty()) {
    absl::StrAppend(&xml,
                    "    <disk type='file' device='disk'><driver name='qemu' "
                    "type='qcow2'/><source file='",
                    XmlEscape(m.boot.disk),
                    "'/><target dev='vda' bus='virtio'/></disk>\n");
  }
  if (!m.console_log.empty()) {
    const std::string log = XmlEscape(m.console_log);
    absl::StrAppend(&xml, "    <serial type='file'><source path='", log,
                    "'/><target port='0'/></serial>\n"
                    "    <console type='file'><source path='",
                    log, "'/><target type='serial' port='0'/></console>\n");
  }
  for (const auto& fs : m.filesystems) {
    absl::StrAppend(&xml,
                    "    <filesystem type='mount' accessmode='passthrough'>"
                    "<driver type='virtiofs'/><source dir='",
                    XmlEscape(fs.source), "'/><target dir='", XmlEscape(fs.tag),
                    "'/></filesystem>\n");
  }
  absl::StrAppend(&xml, "  </devices>\n</domain>\n");
  return xml;
}

std::string BuildDomainXml(const agent::v1::ServerSpec& spec,
                           const std::vector<std::string>& mount_points,
                           const DomainOptions& options,
                           const BootImage& image) {
  return DomainXml(DomainModelFor(spec, mount_points, options, image));
}

ServerDriver::ServerDriver(Hypervisor& hypervisor, MountManager& mounts,
                           DomainOptions options)
    : hypervisor_(hypervisor), mounts_(mounts), options_(std::move(options)) {}

namespace {
// The server of a domain's XML ("instance-<uuid>"), "" for other domains.
std::string ServerOfDomain(const std::string& xml) {
  size_t a = xml.find("<name>instance-"), b = xml.find("</name>");
  if (a == std::string::npos || b == std::string::npos || b < a + 15) return "";
  return xml.substr(a + 15, b - a - 15);
}
}  // namespace

absl::StatusOr<agent::v1::HostState> ServerDriver::HostState() {
  auto domains = hypervisor_.ListDomainXml();
  if (!domains.ok()) return domains.status();
  agent::v1::HostState out;
  for (const std::string& xml : *domains) {
    const std::string uuid = ServerOfDomain(xml);
    if (uuid.empty()) continue;
    auto state = hypervisor_.GetDomainState(DomainName(uuid));
    if (!state.ok()) return state.status();
    if (*state == DomainState::kAbsent) continue;  // undefined meanwhile
    auto* d = out.add_domains();
    d->set_server_uuid(uuid);
    d->set_domain_state(DomainStateName(*state));
  }
  for (const auto& [point, users] : mounts_.Uses()) {
    auto* m = out.add_mounts();
    m->set_mount_point(point);
    for (const auto& u : users) m->add_server_uuids(u);
  }
  return out;
}

absl::Status ServerDriver::Recover(Mounter& mounter) {
  recovered_ = false;  // until this pass succeeds
  auto domains = hypervisor_.ListDomainXml();
  if (!domains.ok()) return domains.status();
  const std::string base = mounts_.options().base + "/";
  int adopted = 0;
  for (const std::string& xml : *domains) {
    const std::string uuid = ServerOfDomain(xml);
    if (uuid.empty()) continue;
    // A state libvirt cannot tell fails the pass (and it is tried again):
    // read as "not running", its mounts would be released below.
    auto state = hypervisor_.GetDomainState(DomainName(uuid));
    if (!state.ok()) return state.status();
    if (*state != DomainState::kRunning) continue;
    for (const std::string& dir : Attributes(xml, "source", "dir")) {
      if (absl::StartsWith(dir, base) && mounter.IsMounted(dir)) {
        mounts_.Adopt(uuid, dir);
        ++adopted;
      }
    }
  }
  // A mount no running domain uses is left over (the agent died between a
  // stop and its release, or a mount and its domain): unmount it.
  int released = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(mounts_.options().base, ec)) {
    const std::string point = entry.path().string();
    if (!entry.is_directory(ec) || !mounter.IsMounted(point) ||
        mounts_.Users(point) > 0) {
      continue;
    }
    if (absl::Status s = mounter.Unmount(point); !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("Recovery could not unmount ", point,
                                 ", which no domain uses: ", s.message()));
    }
    SP_LOG(Info) << "Recovery: unmounted " << point << ", which no domain uses";
    ++released;
  }
  SP_LOG(Info) << "Recovered " << adopted << " mount uses from "
               << domains->size() << " domains; released " << released
               << " unused mounts";
  recovered_ = true;
  return absl::OkStatus();
}

absl::Status ServerDriver::CheckRecovered() const {
  if (recovered_) return absl::OkStatus();
  return absl::UnavailableError(
      "The agent has not recovered its mounts yet (libvirt unreachable at "
      "start?); it refuses changes until it has");
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Reply(
    const std::string& uuid) {
  auto state = hypervisor_.GetDomainState(DomainName(uuid));
  if (!state.ok()) return state.status();
  agent::v1::PowerReply reply;
  reply.set_domain_state(DomainStateName(*state));
  for (const auto& p : mounts_.MountPointsOf(uuid)) reply.add_mount_points(p);
  return reply;
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::PowerOnLocked(
    const agent::v1::ServerSpec& spec) {
  const std::string& uuid = spec.server_uuid();
  std::vector<std::string> points;
  for (const auto& fs : spec.filesystems()) {
    auto point = mounts_.Acquire(uuid, {fs.export_location(), fs.share_proto(),
                                        fs.cephx_id(), fs.cephx_key()});
    if (!point.ok()) {
      // Leave nothing half-done: the server holds no mount it cannot use.
      (void)mounts_.ReleaseServer(uuid);
      return absl::Status(point.status().code(),
                          absl::StrCat("Failed to mount share '", fs.share_id(),
                                       "': ", point.status().message()));
    }
    points.push_back(*point);
  }
  auto image = ResolveImage(options_.image_dir, spec.image_ref());
  if (!image.ok()) {
    (void)mounts_.ReleaseServer(uuid);
    return image.status();
  }
  auto state = hypervisor_.GetDomainState(DomainName(uuid));
  if (!state.ok()) return state.status();
  if (*state != DomainState::kRunning) {
    absl::Status s = hypervisor_.DefineDomain(
        BuildDomainXml(spec, points, options_, *image));
    if (s.ok()) s = hypervisor_.StartDomain(DomainName(uuid));
    if (!s.ok()) {
      (void)mounts_.ReleaseServer(uuid);
      return s;
    }
    SP_LOG(Info) << "Started " << DomainName(uuid) << " with " << points.size()
                 << " shares"
                 << (!image->kernel.empty() ? ", booting " + image->kernel
                     : !image->disk.empty() ? ", booting " + image->disk
                                            : std::string(", no image"))
                 << " (imageRef '" << spec.image_ref() << "')";
  }
  return Reply(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::PowerOffLocked(
    const std::string& uuid) {
  absl::Status s = hypervisor_.StopDomain(DomainName(uuid));
  if (!s.ok()) return s;
  s = mounts_.ReleaseServer(uuid);
  if (!s.ok()) return s;
  return Reply(uuid);
}

ServerDriver::ServerLock::ServerLock(ServerDriver& driver,
                                     const std::string& uuid)
    : mu_(driver.MutexOf(uuid)) {
  bool locked = false;
  while (true) {
    locked = mu_->TryLockFor(std::chrono::milliseconds(50));
    // A call whose caller is gone does nothing, also once it has the lock
    // (an agent that was stopped or stalled finds such calls waiting).
    if (CallCancelled()) {
      status_ = absl::CancelledError(
          absl::StrCat("The caller gave up on this call for server ", uuid));
    } else if (std::chrono::steady_clock::now() >= CallDeadline()) {
      status_ = absl::DeadlineExceededError(absl::StrCat(
          "The call for server ", uuid, " reached its deadline before it ran"));
    } else if (locked) {
      return;
    } else {
      continue;
    }
    if (locked) mu_->Unlock();
    mu_.reset();
    return;
  }
}

ServerDriver::ServerLock::~ServerLock() {
  if (mu_) mu_->Unlock();
}

std::shared_ptr<TimedMutex> ServerDriver::MutexOf(const std::string& uuid) {
  MutexLock lock(&locks_mu_);
  auto& mu = locks_[uuid];
  if (!mu) mu = std::make_shared<TimedMutex>();
  return mu;
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::PowerOn(
    const agent::v1::ServerSpec& spec) {
  ServerLock lock(*this, spec.server_uuid());
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  return PowerOnLocked(spec);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::PowerOff(
    const std::string& uuid) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  return PowerOffLocked(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Reboot(
    const agent::v1::ServerSpec& spec, bool hard) {
  ServerLock lock(*this, spec.server_uuid());
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  if (!hard) {
    auto state = hypervisor_.GetDomainState(DomainName(spec.server_uuid()));
    if (state.ok() && *state == DomainState::kRunning) {
      absl::Status s = hypervisor_.RebootDomain(DomainName(spec.server_uuid()));
      if (s.ok()) return Reply(spec.server_uuid());
      SP_LOG(Warning) << "Soft reboot failed, rebooting hard: " << s.message();
    }
  }
  auto off = PowerOffLocked(spec.server_uuid());
  if (!off.ok()) return off.status();
  return PowerOnLocked(spec);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Delete(
    const std::string& uuid) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  auto off = PowerOffLocked(uuid);
  if (!off.ok()) return off.status();
  absl::Status s = hypervisor_.UndefineDomain(DomainName(uuid));
  if (!s.ok()) return s;
  return Reply(uuid);
}

absl::StatusOr<std::string> ServerDriver::EnsureMount(
    const std::string& uuid, const agent::v1::Filesystem& fs) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  auto point = mounts_.Acquire(uuid, {fs.export_location(), fs.share_proto(),
                                      fs.cephx_id(), fs.cephx_key()});
  if (!point.ok()) {
    return absl::Status(point.status().code(),
                        absl::StrCat("Failed to mount share '", fs.share_id(),
                                     "': ", point.status().message()));
  }
  return point;
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::ReleaseMounts(
    const std::string& uuid) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  SP_RETURN_IF_ERROR(mounts_.ReleaseServer(uuid));
  return Reply(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Define(
    const agent::v1::ServerSpec& spec) {
  ServerLock lock(*this, spec.server_uuid());
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  const std::string& uuid = spec.server_uuid();
  const std::vector<std::string> held = mounts_.MountPointsOf(uuid);
  std::vector<std::string> points;
  for (const auto& fs : spec.filesystems()) {
    const std::string point =
        MountPointFor(mounts_.options().base, fs.export_location());
    if (std::find(held.begin(), held.end(), point) == held.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Share '", fs.share_id(), "' is not mounted for server ",
                       uuid, ": call EnsureMount first"));
    }
    points.push_back(point);
  }
  SP_ASSIGN_OR_RETURN(BootImage image,
                      ResolveImage(options_.image_dir, spec.image_ref()));
  SP_RETURN_IF_ERROR(
      hypervisor_.DefineDomain(BuildDomainXml(spec, points, options_, image)));
  return Reply(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Start(
    const std::string& uuid) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  SP_ASSIGN_OR_RETURN(DomainState state,
                      hypervisor_.GetDomainState(DomainName(uuid)));
  if (state == DomainState::kAbsent) {
    return absl::NotFoundError(
        absl::StrCat("Server ", uuid, " has no domain: define it first"));
  }
  if (state != DomainState::kRunning) {
    SP_RETURN_IF_ERROR(hypervisor_.StartDomain(DomainName(uuid)));
  }
  return Reply(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Stop(
    const std::string& uuid) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  SP_RETURN_IF_ERROR(hypervisor_.StopDomain(DomainName(uuid)));
  return Reply(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Undefine(
    const std::string& uuid) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  SP_RETURN_IF_ERROR(hypervisor_.UndefineDomain(DomainName(uuid)));
  return Reply(uuid);
}

// Without the server's lock: the conductor asks while a call it gave up on
// may still hold it (a long stop), and must get an answer.
absl::StatusOr<agent::v1::PowerReply> ServerDriver::State(
    const std::string& uuid) {
  return Reply(uuid);
}

}  // namespace shareplane
