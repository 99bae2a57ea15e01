// Host mounts of share exports: one mount point per export
// (<base>/<md5 hex of the export>), shared by every server on the host that
// uses it and reference-counted by server; unmounted when the last server
// releases it. mount(8) runs with an argv, never through a shell.
#ifndef SHAREPLANE_COMPUTE_AGENT_MOUNT_MANAGER_H_
#define SHAREPLANE_COMPUTE_AGENT_MOUNT_MANAGER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/core/mutex.h"

namespace shareplane {

// The seam to mount(8). Thread-safe implementations.
class Mounter {
 public:
  virtual ~Mounter() = default;
  // argv[0] is "mount". Internal with mount's own message on failure.
  virtual absl::Status Mount(const std::vector<std::string>& argv,
                             const std::string& mount_point) = 0;
  virtual absl::Status Unmount(const std::string& mount_point) = 0;
  virtual bool IsMounted(const std::string& mount_point) = 0;
};

// Runs the mount helper (mount(8) unless configured: `[compute]
// mount_helper`; other programs such as ceph-fuse as given) and umount(8)
// with an argv, each under `timeout`; reads /proc/self/mountinfo.
class SystemMounter : public Mounter {
 public:
  explicit SystemMounter(std::string helper = "mount", int timeout_seconds = 60)
      : helper_(std::move(helper)), timeout_seconds_(timeout_seconds) {}
  absl::Status Mount(const std::vector<std::string>& argv,
                     const std::string& mount_point) override;
  absl::Status Unmount(const std::string& mount_point) override;
  bool IsMounted(const std::string& mount_point) override;

 private:
  std::string helper_;
  int timeout_seconds_;
};

// A stateful twin for kernels without NFS or CephFS (like the CI machine):
// records every argv and which points are mounted.
class InMemoryMounter : public Mounter {
 public:
  absl::Status Mount(const std::vector<std::string>& argv,
                     const std::string& mount_point) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Unmount(const std::string& mount_point) override
      ABSL_LOCKS_EXCLUDED(mu_);
  bool IsMounted(const std::string& mount_point) override
      ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::vector<std::string>> history() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Mutex mu_;
  std::set<std::string> mounted_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> history_ ABSL_GUARDED_BY(mu_);
};

struct ExportSpec {
  std::string export_location;
  std::string share_proto;  // NFS or CEPHFS
  std::string cephx_id;
  std::string cephx_key;  // secret: written to a 0600 file, never logged
  // A read-only attachment: mounted with -o ro on a point of its own, so
  // every write in the guest fails with EROFS.
  bool read_only = false;
};

struct MountOptions {
  std::string base = "/var/lib/shareplane/mnt";
  std::string nfs_mount_options;   // "-o" value for NFS, may be empty
  std::string ceph_mount_options;  // prefix of the CephFS "-o" value
  // CephFS client: "kernel" (mount -t ceph, the production default) or
  // "fuse" (ceph-fuse, for kernels without the ceph module).
  std::string ceph_mount_type = "kernel";
  std::string ceph_conf;  // ceph-fuse -c, when set
};

// <base>/<md5 hex of the export>, with "-ro" for the read-only mount (a
// host may hold a read-only and a read-write mount of one export).
std::string MountPointFor(const std::string& base,
                          const std::string& export_location,
                          bool read_only = false);

// Refuses exports that could smuggle options or extra arguments into the
// mount command line: NFS "host:/path", CephFS "mon[,mon...]:/path" (mons
// as host[:port]), no leading '-', no whitespace, control characters or
// commas in the path; cephx ids of [A-Za-z0-9_-]; keys in base64.
absl::Status ValidateExport(const ExportSpec& e);

// The mount(8) argv for an export (the CephFS secret as secretfile=), or
// the ceph-fuse argv (the secret in a keyring file) with ceph_mount_type
// fuse; "ro" first in the -o value of a read-only export.
std::vector<std::string> MountArgv(const ExportSpec& e,
                                   const std::string& mount_point,
                                   const MountOptions& options,
                                   const std::string& secret_file);

class MountManager {
 public:
  MountManager(Mounter& mounter, MountOptions options);

  // Mounts the export unless already mounted and records `server` as a
  // user; returns the mount point.
  absl::StatusOr<std::string> Acquire(const std::string& server,
                                      const ExportSpec& e)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Drops every use by `server`; unmounts points nobody uses any more.
  absl::Status ReleaseServer(const std::string& server)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Drops `server`'s use of one point (a live detach); unmounts it when
  // nobody uses it any more. OK when the server did not use it.
  absl::Status Release(const std::string& server,
                       const std::string& mount_point) ABSL_LOCKS_EXCLUDED(mu_);
  // Recovery: records `server` as a user of an already mounted point.
  void Adopt(const std::string& server, const std::string& mount_point)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> MountPointsOf(const std::string& server)
      ABSL_LOCKS_EXCLUDED(mu_);
  int Users(const std::string& mount_point) ABSL_LOCKS_EXCLUDED(mu_);
  // Every mount point in use, with its users.
  std::map<std::string, std::set<std::string>> Uses() ABSL_LOCKS_EXCLUDED(mu_);
  const MountOptions& options() const { return options_; }

 private:
  Mounter& mounter_;      // thread-safe by itself
  MountOptions options_;  // set at construction, read-only after
  // Also held across the mounter's calls in Acquire and ReleaseServer, so
  // that a point's mount or unmount and its users change together.
  Mutex mu_;
  // Unmounts an unused point; keeps it (and answers why) when that fails.
  absl::Status UnmountLocked(const std::string& point)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // point -> servers
  std::map<std::string, std::set<std::string>> users_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_MOUNT_MANAGER_H_
