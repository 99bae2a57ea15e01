#include "common/core/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace shareplane {

absl::Status RunCommand(const std::vector<std::string>& argv,
                        int timeout_seconds) {
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

}  // namespace shareplane
