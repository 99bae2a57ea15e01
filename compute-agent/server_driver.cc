#include "compute-agent/server_driver.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "compute-agent/call_scope.h"
#include "compute-agent/twin_hypervisor.h"

namespace shareplane {
namespace {

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

ExportSpec ExportOf(const agent::v1::Filesystem& fs) {
  return {fs.export_location(), fs.share_proto(), fs.cephx_id(), fs.cephx_key(),
          fs.read_only()};
}

bool HasFilesystem(const std::string& xml, const std::string& tag) {
  const std::vector<std::string> tags = FilesystemTags(xml);
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

}  // namespace

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

absl::StatusOr<std::string> ServerDriver::AcquireFor(
    const std::string& uuid, const agent::v1::Filesystem& fs) {
  auto point = mounts_.Acquire(uuid, ExportOf(fs));
  if (!point.ok()) {
    return absl::Status(point.status().code(),
                        absl::StrCat("Failed to mount share '", fs.share_id(),
                                     "': ", point.status().message()));
  }
  return point;
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
    auto point = AcquireFor(uuid, fs);
    if (!point.ok()) {
      // Leave nothing half-done: the server holds no mount it cannot use.
      (void)mounts_.ReleaseServer(uuid);
      return point.status();
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

absl::StatusOr<agent::v1::PowerReply> ServerDriver::Rebuild(
    const agent::v1::ServerSpec& spec) {
  ServerLock lock(*this, spec.server_uuid());
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  const std::string& uuid = spec.server_uuid();
  const std::string name = DomainName(uuid);
  // The new image first: an unknown one changes nothing.
  SP_ASSIGN_OR_RETURN(BootImage image,
                      ResolveImage(options_.image_dir, spec.image_ref()));
  SP_RETURN_IF_ERROR(hypervisor_.StopDomain(name));
  // Held already for a running server: no mount(8) runs.
  std::vector<std::string> points;
  for (const auto& fs : spec.filesystems()) {
    SP_ASSIGN_OR_RETURN(std::string point, AcquireFor(uuid, fs));
    points.push_back(point);
  }
  for (const std::string& held : mounts_.MountPointsOf(uuid)) {
    if (std::find(points.begin(), points.end(), held) == points.end()) {
      SP_RETURN_IF_ERROR(mounts_.Release(uuid, held));
    }
  }
  SP_RETURN_IF_ERROR(
      hypervisor_.DefineDomain(BuildDomainXml(spec, points, options_, image)));
  SP_RETURN_IF_ERROR(hypervisor_.StartDomain(name));
  SP_LOG(Info) << "Rebuilt " << name << " from imageRef '" << spec.image_ref()
               << "' with " << points.size() << " shares, mounts kept";
  return Reply(uuid);
}

absl::StatusOr<std::string> ServerDriver::EnsureMount(
    const std::string& uuid, const agent::v1::Filesystem& fs) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  return AcquireFor(uuid, fs);
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
    const std::string point = MountPointFor(
        mounts_.options().base, fs.export_location(), fs.read_only());
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

absl::StatusOr<agent::v1::PowerReply> ServerDriver::AttachFilesystem(
    const std::string& uuid, const agent::v1::Filesystem& fs) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  const std::string name = DomainName(uuid);
  SP_ASSIGN_OR_RETURN(DomainState state, hypervisor_.GetDomainState(name));
  if (state != DomainState::kRunning) {
    return absl::FailedPreconditionError(
        absl::StrCat("Server ", uuid, " is not running (",
                     DomainStateName(state), "): nothing to hot-plug into"));
  }
  SP_ASSIGN_OR_RETURN(const std::string live,
                      hypervisor_.GetDomainXml(name, true));
  SP_ASSIGN_OR_RETURN(const std::string config,
                      hypervisor_.GetDomainXml(name, false));
  const bool in_live = HasFilesystem(live, fs.tag());
  const bool in_config = HasFilesystem(config, fs.tag());
  SP_ASSIGN_OR_RETURN(const std::string point, AcquireFor(uuid, fs));
  if (in_live && in_config) return Reply(uuid);  // done before
  absl::Status s = hypervisor_.AttachDevice(
      name, FilesystemXml({point, fs.tag()}), !in_live, !in_config);
  if (!s.ok()) {
    // The guest keeps running without it; the mount goes unless the
    // device made it into the guest before.
    if (!in_live) (void)mounts_.Release(uuid, point);
    return absl::Status(
        s.code(), absl::StrCat("Failed to hot-plug share '", fs.share_id(),
                               "' into server ", uuid, ": ", s.message()));
  }
  SP_LOG(Info) << "Hot-plugged share " << fs.share_id() << " (tag '" << fs.tag()
               << "'" << (fs.read_only() ? ", read-only" : "") << ") into "
               << name;
  return Reply(uuid);
}

absl::StatusOr<agent::v1::PowerReply> ServerDriver::DetachFilesystem(
    const std::string& uuid, const agent::v1::Filesystem& fs) {
  ServerLock lock(*this, uuid);
  SP_RETURN_IF_ERROR(lock.status());
  SP_RETURN_IF_ERROR(CheckRecovered());
  const std::string name = DomainName(uuid);
  const std::string point = MountPointFor(mounts_.options().base,
                                          fs.export_location(), fs.read_only());
  SP_ASSIGN_OR_RETURN(DomainState state, hypervisor_.GetDomainState(name));
  bool in_live = false, in_config = false;
  if (state != DomainState::kAbsent) {
    SP_ASSIGN_OR_RETURN(const std::string config,
                        hypervisor_.GetDomainXml(name, false));
    if (state == DomainState::kRunning) {
      SP_ASSIGN_OR_RETURN(const std::string live,
                          hypervisor_.GetDomainXml(name, true));
      in_live = HasFilesystem(live, fs.tag());
    }
    in_config = HasFilesystem(config, fs.tag());
  }
  const std::string xml = FilesystemXml({point, fs.tag()});
  // The live domain first: the definition keeps the device until the guest
  // let go of it, so a restarted agent's recovery (which reads the
  // definitions) still counts the mount as in use meanwhile.
  if (in_live) {
    absl::Status s = hypervisor_.DetachDevice(name, xml, true, false);
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("Failed to unplug share '", fs.share_id(),
                                 "' from ", name, ": ", s.message()));
    }
    SP_RETURN_IF_ERROR(AwaitUnplugged(name, fs));
  }
  if (in_config) {
    absl::Status s = hypervisor_.DetachDevice(name, xml, false, true);
    if (!s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat("Failed to remove share '", fs.share_id(),
                       "' from the definition of ", name, ": ", s.message()));
    }
  }
  SP_RETURN_IF_ERROR(mounts_.Release(uuid, point));
  SP_LOG(Info) << "Unplugged share " << fs.share_id() << " (tag '" << fs.tag()
               << "') from " << name;
  return Reply(uuid);
}

absl::Status ServerDriver::AwaitUnplugged(const std::string& name,
                                          const agent::v1::Filesystem& fs) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      std::min(start + options_.hot_unplug_timeout, CallDeadline());
  while (true) {
    SP_ASSIGN_OR_RETURN(const std::string live,
                        hypervisor_.GetDomainXml(name, true));
    if (!HasFilesystem(live, fs.tag())) return absl::OkStatus();
    if (CallCancelled()) {
      return absl::CancelledError(
          absl::StrCat("The caller gave up while share '", fs.share_id(),
                       "' was leaving ", name));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Share '", fs.share_id(), "' (tag '", fs.tag(),
          "') is still in the running server after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start)
                  .count() /
              1000.0,
          " s: the guest did not let go of the device (unmount it in the "
          "guest first); it stays attached"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Without the server's lock: the conductor asks while a call it gave up on
// may still hold it (a long stop), and must get an answer.
absl::StatusOr<agent::v1::PowerReply> ServerDriver::State(
    const std::string& uuid) {
  return Reply(uuid);
}

}  // namespace shareplane
