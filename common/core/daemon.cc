#include "common/core/daemon.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "common/core/log.h"
#include "common/core/settings.h"

namespace shareplane {
namespace {
sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void NotifySystemd(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract socket
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)sendto(fd, state.data(), state.size(), 0,
               reinterpret_cast<const sockaddr*>(&addr),
               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
}

int RunDaemon(int argc, char** argv, const std::string& program,
              const std::string& config_file, const DaemonFactory& create) {
  BlockTerminationSignals();
  SetLogProgramName(program);
  auto config = Config::FromArgs(
      argc, argv,
      {"/etc/shareplane/shareplane.conf", "/etc/shareplane/" + config_file});
  if (!config.ok()) {
    SP_LOG(Error) << config.status().message();
    return 2;
  }
  ConfigureLogging(*config, program);
  auto daemon = create(*config);
  if (!daemon.ok()) {
    SP_LOG(Error) << daemon.status().message();
    return 1;
  }
  if (absl::Status s = daemon->start(); !s.ok()) {
    SP_LOG(Error) << s.message();
    return 1;
  }
  NotifySystemd("READY=1");
  int sig = WaitForTerminationSignal();
  SP_LOG(Info) << "Stopping on signal " << sig;
  NotifySystemd("STOPPING=1");
  daemon->stop();
  return 0;
}

}  // namespace shareplane
