// Process plumbing shared by the daemons' main() functions.
#ifndef SHAREPLANE_COMMON_CORE_DAEMON_H_
#define SHAREPLANE_COMMON_CORE_DAEMON_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/core/config.h"

namespace shareplane {

// Blocks SIGINT/SIGTERM/SIGHUP in this thread, and so in every thread it
// starts afterwards. Call first thing in main().
void BlockTerminationSignals();
// Waits for one of them; returns its number.
int WaitForTerminationSignal();

// Tells systemd (Type=notify) the daemon is ready or stopping, through
// $NOTIFY_SOCKET; does nothing without it.
void NotifySystemd(const std::string& state);

// A started service as main() drives it.
struct DaemonHandle {
  std::function<absl::Status()> start;
  std::function<void()> stop;
};
using DaemonFactory =
    std::function<absl::StatusOr<DaemonHandle>(const Config& config)>;

// The whole main() of a daemon: blocks the termination signals, reads
// /etc/shareplane/shareplane.conf and /etc/shareplane/<config_file> (flags
// override), configures logging, creates and starts the service, tells
// systemd, waits for a signal and stops. Returns the exit code: 2 for bad
// configuration, 1 when the service cannot be created or started.
int RunDaemon(int argc, char** argv, const std::string& program,
              const std::string& config_file, const DaemonFactory& create);

// The same for a service type with `static StatusOr<unique_ptr<S>>
// Create(const Config&)`, `Status Start()` and `void Stop()`.
template <typename Service>
int RunDaemon(int argc, char** argv, const std::string& program,
              const std::string& config_file) {
  return RunDaemon(
      argc, argv, program, config_file,
      [](const Config& config) -> absl::StatusOr<DaemonHandle> {
        auto service = Service::Create(config);
        if (!service.ok()) return service.status();
        std::shared_ptr<Service> s = std::move(*service);
        return DaemonHandle{[s] { return s->Start(); }, [s] { s->Stop(); }};
      });
}

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_DAEMON_H_
