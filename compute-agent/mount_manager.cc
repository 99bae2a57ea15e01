#include "compute-agent/mount_manager.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

extern char** environ;

namespace shareplane {
namespace {

// Runs argv (no shell) with a deadline, returning its stderr on failure.
// posix_spawn rather than fork: nothing of the agent (threads, locks) runs
// in the child; the child starts with no blocked signals and default
// handlers, and only stdin, stdout and the stderr pipe open (every other
// descriptor of the agent is close-on-exec or closed here).
absl::Status Run(const std::vector<std::string>& argv, int timeout_seconds) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (spawned != 0) {
    close(pipefd[0]);
    return absl::InternalError(
        absl::StrCat("Cannot run ", argv[0], ": ", strerror(spawned)));
  }
  std::string err;
  char buf[512];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  // Until the child exits: a helper that daemonizes (ceph-fuse) leaves its
  // daemon holding stderr open, so end-of-file cannot be the signal.
  bool timed_out = false, exited = false, eof = false;
  int status = 0;
  while (!exited) {
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    pollfd p{eof ? -1 : pipefd[0], POLLIN, 0};
    if (poll(&p, 1, eof ? 10 : 100) > 0) {
      ssize_t n = read(pipefd[0], buf, sizeof(buf));
      if (n > 0) err.append(buf, n);
      eof = n <= 0;  // closed: only the exit is left to see
    }
    exited = waitpid(pid, &status, WNOHANG) == pid;
  }
  if (exited) {
    // What the child wrote just before exiting.
    pollfd p{pipefd[0], POLLIN, 0};
    while (poll(&p, 1, 0) > 0) {
      ssize_t n = read(pipefd[0], buf, sizeof(buf));
      if (n <= 0) break;
      err.append(buf, n);
    }
  }
  close(pipefd[0]);
  if (timed_out) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        argv[0], " did not finish within ", timeout_seconds, " s"));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return absl::InternalError(absl::StrCat(
      argv[0], " exited with ", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
      err.empty() ? "" : ": ", err));
}

}  // namespace

absl::Status SystemMounter::Mount(const std::vector<std::string>& argv,
                                  const std::string& mount_point) {
  std::vector<std::string> with_helper = argv;
  if (with_helper[0] == "mount") with_helper[0] = helper_;
  return Run(with_helper, timeout_seconds_);
}

absl::Status SystemMounter::Unmount(const std::string& mount_point) {
  // A busy mount (an I/O still draining) often frees up within a second.
  absl::Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    s = Run({"umount", mount_point}, timeout_seconds_);
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
    if (!options.ceph_mount_options.empty()) {
      argv.insert(argv.end(), {"-o", options.ceph_mount_options});
    }
    argv.push_back(mount_point);
    return argv;
  }
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
  absl::Status valid = ValidateExport(e);
  if (!valid.ok()) return valid;
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

std::map<std::string, std::set<std::string>> MountManager::Uses() {
  std::lock_guard<std::mutex> lock(mu_);
  return users_;
}

int MountManager::Users(const std::string& mount_point) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(mount_point);
  return it == users_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace shareplane
