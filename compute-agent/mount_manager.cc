#include "compute-agent/mount_manager.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/core/log.h"
#include "common/core/run.h"

namespace shareplane {

absl::Status SystemMounter::Mount(const std::vector<std::string>& argv,
                                  const std::string& mount_point) {
  std::vector<std::string> with_helper = argv;
  if (with_helper[0] == "mount") with_helper[0] = helper_;
  return RunCommand(with_helper, timeout_seconds_);
}

absl::Status SystemMounter::Unmount(const std::string& mount_point) {
  // A busy mount (an I/O still draining) often frees up within a second.
  absl::Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    s = RunCommand({"umount", mount_point}, timeout_seconds_);
    if (s.ok() || !IsMounted(mount_point)) return absl::OkStatus();
  }
  return s;
}

bool SystemMounter::IsMounted(const std::string& mount_point) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && fields[4] == mount_point) return true;
  }
  return false;
}

absl::Status InMemoryMounter::Mount(const std::vector<std::string>& argv,
                                    const std::string& mount_point) {
  MutexLock lock(&mu_);
  history_.push_back(argv);
  mounted_.insert(mount_point);
  return absl::OkStatus();
}

absl::Status InMemoryMounter::Unmount(const std::string& mount_point) {
  MutexLock lock(&mu_);
  history_.push_back({"umount", mount_point});
  mounted_.erase(mount_point);
  return absl::OkStatus();
}

bool InMemoryMounter::IsMounted(const std::string& mount_point) {
  MutexLock lock(&mu_);
  return mounted_.count(mount_point) > 0;
}

std::vector<std::vector<std::string>> InMemoryMounter::history() {
  MutexLock lock(&mu_);
  return history_;
}

std::string MountPointFor(const std::string& base,
                          const std::string& export_location, bool read_only) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(export_location.data(), export_location.size(), digest, &length,
             EVP_md5(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppendFormat(&hex, "%02x", digest[i]);
  }
  return base + "/" + hex + (read_only ? "-ro" : "");
}

absl::Status ValidateExport(const ExportSpec& e) {
  const std::string& x = e.export_location;
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("Refusing export location '", x, "': ", why));
  };
  if (x.empty() || x[0] == '-') return bad("it must not start with '-'");
  for (unsigned char c : x) {
    if (c <= ' ' || c == 0x7f || (c == ',' && e.share_proto != "CEPHFS")) {
      return bad("whitespace, control characters or commas");
    }
  }
  const size_t path = x.find(":/");
  if (path == std::string::npos || path == 0) {
    return bad(e.share_proto == "CEPHFS" ? "expected mon[,mon]:/path"
                                         : "expected host:/path");
  }
  if (x.find(',', path) != std::string::npos) return bad("comma in the path");
  if (e.share_proto == "CEPHFS") {
    if (e.cephx_id.empty() ||
        e.cephx_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                     "OPQRSTUVWXYZ0123456789_-") !=
            std::string::npos) {
      return bad("invalid cephx id");
    }
    if (e.cephx_key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
                                      "MNOPQRSTUVWXYZ0123456789+/=") !=
        std::string::npos) {
      return bad("the cephx key is not base64");
    }
  } else if (e.share_proto != "NFS") {
    return bad("unsupported protocol " + e.share_proto);
  }
  return absl::OkStatus();
}

namespace {
// A -o value with "ro" first for read-only mounts.
std::string WithReadOnly(bool read_only, const std::string& options) {
  if (!read_only) return options;
  return options.empty() ? "ro" : "ro," + options;
}
}  // namespace

std::vector<std::string> MountArgv(const ExportSpec& e,
                                   const std::string& mount_point,
                                   const MountOptions& options,
                                   const std::string& secret_file) {
  if (e.share_proto == "CEPHFS" && options.ceph_mount_type == "fuse") {
    const size_t path = e.export_location.find(":/");
    std::vector<std::string> argv = {"ceph-fuse"};
    if (!options.ceph_conf.empty()) {
      argv.insert(argv.end(), {"-c", options.ceph_conf});
    }
    argv.insert(argv.end(), {"--id", e.cephx_id, "--keyring", secret_file, "-m",
                             e.export_location.substr(0, path), "-r",
                             e.export_location.substr(path + 1)});
    const std::string fuse_opts =
        WithReadOnly(e.read_only, options.ceph_mount_options);
    if (!fuse_opts.empty()) argv.insert(argv.end(), {"-o", fuse_opts});
    argv.push_back(mount_point);
    return argv;
  }
  if (e.share_proto == "CEPHFS") {
    std::string opts = WithReadOnly(e.read_only, options.ceph_mount_options);
    absl::StrAppend(&opts, opts.empty() ? "" : ",", "name=", e.cephx_id,
                    ",secretfile=", secret_file);
    return {"mount", "-t", "ceph", "-o", opts, e.export_location, mount_point};
  }
  std::vector<std::string> argv = {"mount", "-t", "nfs"};
  const std::string nfs_opts =
      WithReadOnly(e.read_only, options.nfs_mount_options);
  if (!nfs_opts.empty()) {
    argv.push_back("-o");
    argv.push_back(nfs_opts);
  }
  argv.push_back(e.export_location);
  argv.push_back(mount_point);
  return argv;
}

MountManager::MountManager(Mounter& mounter, MountOptions options)
    : mounter_(mounter), options_(std::move(options)) {}

absl::StatusOr<std::string> MountManager::Acquire(const std::string& server,
                                                  const ExportSpec& e) {
  absl::Status valid = ValidateExport(e);
  if (!valid.ok()) return valid;
  const std::string point =
      MountPointFor(options_.base, e.export_location, e.read_only);
  MutexLock lock(&mu_);
  if (!mounter_.IsMounted(point)) {
    std::error_code ec;
    std::filesystem::create_directories(point, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("Cannot create mount point '",
                                              point, "': ", ec.message()));
    }
    std::string secret_file;
    if (e.share_proto == "CEPHFS") {
      secret_file = point + ".secret";
      // mount.ceph reads the bare key; ceph-fuse a keyring.
      const std::string content =
          options_.ceph_mount_type == "fuse"
              ? absl::StrCat("[client.", e.cephx_id, "]\n\tkey = ", e.cephx_key,
                             "\n")
              : e.cephx_key;
      int fd = open(secret_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || write(fd, content.data(), content.size()) < 0) {
        if (fd >= 0) close(fd);
        return absl::InternalError("Cannot write the CephFS secret file");
      }
      close(fd);
    }
    absl::Status s =
        mounter_.Mount(MountArgv(e, point, options_, secret_file), point);
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("Failed to mount '", e.export_location,
                                       "': ", s.message()));
    }
    SP_LOG(Info) << "Mounted " << e.export_location << " on " << point;
  }
  users_[point].insert(server);
  return point;
}

absl::Status MountManager::UnmountLocked(const std::string& point) {
  absl::Status s = mounter_.Unmount(point);
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat("Failed to unmount '", point,
                                               "': ", s.message()));
  }
  SP_LOG(Info) << "Unmounted " << point;
  std::error_code ec;
  std::filesystem::remove(point + ".secret", ec);
  std::filesystem::remove(point, ec);
  users_.erase(point);
  return absl::OkStatus();
}

absl::Status MountManager::ReleaseServer(const std::string& server) {
  MutexLock lock(&mu_);
  absl::Status result;
  std::vector<std::string> unused;
  for (auto& [point, users] : users_) {
    users.erase(server);
    if (users.empty()) unused.push_back(point);
  }
  // A point that fails to unmount is kept: the next release retries.
  for (const std::string& point : unused) {
    if (absl::Status s = UnmountLocked(point); !s.ok()) result = s;
  }
  return result;
}

absl::Status MountManager::Release(const std::string& server,
                                   const std::string& mount_point) {
  MutexLock lock(&mu_);
  auto it = users_.find(mount_point);
  if (it == users_.end()) return absl::OkStatus();
  it->second.erase(server);
  if (!it->second.empty()) return absl::OkStatus();
  return UnmountLocked(mount_point);
}

void MountManager::Adopt(const std::string& server,
                         const std::string& mount_point) {
  MutexLock lock(&mu_);
  users_[mount_point].insert(server);
}

std::vector<std::string> MountManager::MountPointsOf(
    const std::string& server) {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [point, users] : users_) {
    if (users.count(server)) out.push_back(point);
  }
  return out;
}

std::map<std::string, std::set<std::string>> MountManager::Uses() {
  MutexLock lock(&mu_);
  return users_;
}

int MountManager::Users(const std::string& mount_point) {
  MutexLock lock(&mu_);
  auto it = users_.find(mount_point);
  return it == users_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace shareplane
