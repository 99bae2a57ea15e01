#include "compute-agent/mount_manager.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace shareplane {
namespace {

// Runs argv (no shell), returning its stderr on failure.
absl::Status Run(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], STDERR_FILENO);
    close(pipefd[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipefd[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) err.append(buf, n);
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return absl::InternalError(absl::StrCat(
      argv[0], " exited with ", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
      err.empty() ? "" : ": ", err));
}

}  // namespace

absl::Status SystemMounter::Mount(const std::vector<std::string>& argv,
                                  const std::string& mount_point) {
  return Run(argv);
}

absl::Status SystemMounter::Unmount(const std::string& mount_point) {
  return Run({"umount", mount_point});
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
  std::lock_guard<std::mutex> lock(mu_);
  history_.push_back(argv);
  mounted_.insert(mount_point);
  return absl::OkStatus();
}

absl::Status InMemoryMounter::Unmount(const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  history_.push_back({"umount", mount_point});
  mounted_.erase(mount_point);
  return absl::OkStatus();
}

bool InMemoryMounter::IsMounted(const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  return mounted_.count(mount_point) > 0;
}

std::vector<std::vector<std::string>> InMemoryMounter::history() {
  std::lock_guard<std::mutex> lock(mu_);
  return history_;
}

std::string MountPointFor(const std::string& base,
                          const std::string& export_location) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(export_location.data(), export_location.size(), digest, &length,
             EVP_md5(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppendFormat(&hex, "%02x", digest[i]);
  }
  return base + "/" + hex;
}

std::vector<std::string> MountArgv(const ExportSpec& e,
                                   const std::string& mount_point,
                                   const MountOptions& options,
                                   const std::string& secret_file) {
  if (e.share_proto == "CEPHFS") {
    std::string opts = options.ceph_mount_options;
    absl::StrAppend(&opts, opts.empty() ? "" : ",", "name=", e.cephx_id,
                    ",secretfile=", secret_file);
    return {"mount", "-t", "ceph", "-o", opts, e.export_location, mount_point};
  }
  std::vector<std::string> argv = {"mount", "-t", "nfs"};
  if (!options.nfs_mount_options.empty()) {
    argv.push_back("-o");
    argv.push_back(options.nfs_mount_options);
  }
  argv.push_back(e.export_location);
  argv.push_back(mount_point);
  return argv;
}

MountManager::MountManager(Mounter& mounter, MountOptions options)
    : mounter_(mounter), options_(std::move(options)) {}

absl::StatusOr<std::string> MountManager::Acquire(const std::string& server,
                                                  const ExportSpec& e) {
  const std::string point = MountPointFor(options_.base, e.export_location);
  std::lock_guard<std::mutex> lock(mu_);
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
      int fd = open(secret_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || write(fd, e.cephx_key.data(), e.cephx_key.size()) < 0) {
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

absl::Status MountManager::ReleaseServer(const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status result;
  for (auto it = users_.begin(); it != users_.end();) {
    it->second.erase(server);
    if (!it->second.empty()) {
      ++it;
      continue;
    }
    absl::Status s = mounter_.Unmount(it->first);
    if (!s.ok()) {
      result = absl::Status(
          s.code(),
          absl::StrCat("Failed to unmount '", it->first, "': ", s.message()));
      ++it;  // keep it: the next release retries
      continue;
    }
    SP_LOG(Info) << "Unmounted " << it->first;
    std::error_code ec;
    std::filesystem::remove(it->first + ".secret", ec);
    std::filesystem::remove(it->first, ec);
    it = users_.erase(it);
  }
  return result;
}

void MountManager::Adopt(const std::string& server,
                         const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  users_[mount_point].insert(server);
}

std::vector<std::string> MountManager::MountPointsOf(
    const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [point, users] : users_) {
    if (users.count(server)) out.push_back(point);
  }
  return out;
}

int MountManager::Users(const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(mount_point);
  return it == users_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace shareplane
