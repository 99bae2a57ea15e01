// The host side of a server's lifecycle: mounts for its shares, its libvirt
// domain (one virtiofs <filesystem> per share, shared memory backing) and
// power. No gRPC here; the agent's service calls it. Thread-safe; calls for
// one server are serialized.
#ifndef SHAREPLANE_COMPUTE_AGENT_SERVER_DRIVER_H_
#define SHAREPLANE_COMPUTE_AGENT_SERVER_DRIVER_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/core/mutex.h"
#include "compute-agent/hypervisor.h"
#include "compute-agent/mount_manager.h"
#include "shareplane/agent/v1/agent.pb.h"

namespace shareplane {

struct DomainOptions {
  std::string virt_type = "test";       // domain type: test, qemu or kvm
  std::string shared_memory = "memfd";  // memfd | file | none
  std::string emulator;                 // <emulator>, for qemu/kvm
  // Bootable images by imageRef ([compute] image_dir): <image_dir>/<ref>/
  // with vmlinuz, initrd.img and optionally cmdline (a kernel boot), or
  // <image_dir>/<ref>.qcow2 (a disk). Empty: domains have no boot source
  // (the test driver needs none).
  std::string image_dir;
  // Serial console logs, <console_dir>/<domain>.log ([compute]
  // console_log_dir); empty: no serial device.
  std::string console_dir;
  // pcie-root-port controllers of q35 domains, for hot-plugged shares
  // ([libvirt] num_pcie_ports, as Nova's; 0: libvirt's default).
  int pcie_ports = 8;
  // How long a live detach waits for the guest to let go of the device
  // ([compute] hot_unplug_timeout).
  std::chrono::milliseconds hot_unplug_timeout{std::chrono::seconds(30)};
};

// What a domain boots from, resolved from the image directory.
struct BootImage {
  std::string kernel, initrd, cmdline;  // kernel boot
  std::string disk;                     // qcow2 disk
};
// InvalidArgument for names that are not plain file names; NotFound when
// the image directory has no such image. An empty ref resolves to nothing.
absl::StatusOr<BootImage> ResolveImage(const std::string& image_dir,
                                       const std::string& image_ref);

// Domain name of a server: "instance-<uuid>".
std::string DomainName(const std::string& server_uuid);

enum class MemoryBacking { kNone, kMemfd, kFile, kHugePages };

// What a server's domain is made of; DomainXml renders it.
struct DomainModel {
  std::string type;  // test, qemu or kvm
  std::string name, uuid, title;
  int64_t memory_mb = 0;
  int vcpus = 1;
  MemoryBacking backing = MemoryBacking::kNone;  // shared memory for virtiofs
  BootImage boot;
  std::string emulator;
  std::string console_log;  // serial console file, "" for none
  int pcie_ports = 0;       // spare pcie-root-port controllers (q35)
  // A kernel boot runs on q35 (PCIe); the rest on libvirt's default.
  bool q35() const { return !boot.kernel.empty(); }
  struct Filesystem {
    std::string source;  // the host mount point
    std::string tag;     // what the guest mounts
  };
  std::vector<Filesystem> filesystems;
};

// The model for `spec` with the shares at `mount_points` (same order as
// spec.filesystems()): huge pages when the flavor asks, else file or memfd
// per `options.shared_memory`.
DomainModel DomainModelFor(const agent::v1::ServerSpec& spec,
                           const std::vector<std::string>& mount_points,
                           const DomainOptions& options,
                           const BootImage& image = {});
// libvirt domain XML for the model; every value escaped.
std::string DomainXml(const DomainModel& model);
// One <filesystem> device (virtiofs), as DomainXml renders it and as a
// hot-plug sends it.
std::string FilesystemXml(const DomainModel::Filesystem& fs);

// DomainXml(DomainModelFor(...)). The domain XML for `spec` with the shares
// at `mount_points` (same order as spec.filesystems()). Memory backing: huge
// pages when the flavor asks; else file or memfd per `options.shared_memory`.
std::string BuildDomainXml(const agent::v1::ServerSpec& spec,
                           const std::vector<std::string>& mount_points,
                           const DomainOptions& options,
                           const BootImage& image = {});

class ServerDriver {
 public:
  ServerDriver(Hypervisor& hypervisor, MountManager& mounts,
               DomainOptions options);

  // Rebuilds the mount users from the defined domains (a running domain
  // whose filesystem source is a mounted point under the mount base keeps
  // that point in use), then unmounts every point under the base that no
  // running domain uses. From a call until one succeeds, every call that
  // changes the host answers Unavailable (State still answers).
  absl::Status Recover(Mounter& mounter);
  bool recovered() const { return recovered_; }

  absl::StatusOr<agent::v1::PowerReply> PowerOn(
      const agent::v1::ServerSpec& spec);
  absl::StatusOr<agent::v1::PowerReply> PowerOff(const std::string& uuid);
  absl::StatusOr<agent::v1::PowerReply> Reboot(
      const agent::v1::ServerSpec& spec, bool hard);
  absl::StatusOr<agent::v1::PowerReply> Delete(const std::string& uuid);
  absl::StatusOr<agent::v1::PowerReply> Rebuild(
      const agent::v1::ServerSpec& spec);

  // The single steps (see agent.proto).
  absl::StatusOr<std::string> EnsureMount(const std::string& uuid,
                                          const agent::v1::Filesystem& fs);
  absl::StatusOr<agent::v1::PowerReply> ReleaseMounts(const std::string& uuid);
  absl::StatusOr<agent::v1::PowerReply> Define(
      const agent::v1::ServerSpec& spec);
  absl::StatusOr<agent::v1::PowerReply> Start(const std::string& uuid);
  absl::StatusOr<agent::v1::PowerReply> Stop(const std::string& uuid);
  absl::StatusOr<agent::v1::PowerReply> Undefine(const std::string& uuid);
  absl::StatusOr<agent::v1::PowerReply> State(const std::string& uuid);
  // Every server domain with its state, every mount with its users.
  absl::StatusOr<agent::v1::HostState> HostState();
  // Live attach and detach of one share (see agent.proto).
  absl::StatusOr<agent::v1::PowerReply> AttachFilesystem(
      const std::string& uuid, const agent::v1::Filesystem& fs);
  absl::StatusOr<agent::v1::PowerReply> DetachFilesystem(
      const std::string& uuid, const agent::v1::Filesystem& fs);

 private:
  absl::StatusOr<agent::v1::PowerReply> Reply(const std::string& uuid);
  // Mounts the share for the server (or counts it as a user of the host's
  // mount); the error names the share.
  absl::StatusOr<std::string> AcquireFor(const std::string& uuid,
                                         const agent::v1::Filesystem& fs);
  // *Locked: with the server's ServerLock held (one lock per server, made
  // at run time: beyond what the thread-safety annotations can name).
  absl::StatusOr<agent::v1::PowerReply> PowerOnLocked(
      const agent::v1::ServerSpec& spec);
  absl::StatusOr<agent::v1::PowerReply> PowerOffLocked(const std::string& uuid);
  // Polls the running domain until the share's device is gone, for at most
  // hot_unplug_timeout (FailedPrecondition then) or the call's deadline.
  absl::Status AwaitUnplugged(const std::string& name,
                              const agent::v1::Filesystem& fs);

  // One lifecycle operation at a time per server; different servers run
  // side by side (a guest that ignores ACPI delays only its own stop).
  // A call that waits for another call of the same server gives up when
  // its caller cancels or its deadline passes (call_scope.h): status().
  class ServerLock {
   public:
    ServerLock(ServerDriver& driver, const std::string& uuid);
    ~ServerLock();
    const absl::Status& status() const { return status_; }

   private:
    std::shared_ptr<TimedMutex> mu_;
    absl::Status status_;
  };
  std::shared_ptr<TimedMutex> MutexOf(const std::string& uuid)
      ABSL_LOCKS_EXCLUDED(locks_mu_);
  absl::Status CheckRecovered() const;

  Hypervisor& hypervisor_;
  MountManager& mounts_;
  DomainOptions options_;
  std::atomic<bool> recovered_{true};  // false while Recover has not succeeded
  Mutex locks_mu_;
  // One entry per server this host has seen (a few bytes each).
  std::map<std::string, std::shared_ptr<TimedMutex>> locks_
      ABSL_GUARDED_BY(locks_mu_);
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_SERVER_DRIVER_H_
