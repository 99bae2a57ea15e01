// shareplane-compute: the per-host compute agent.
#include "common/daemon.h"
#include "common/log.h"
#include "common/ops.h"
#include "common/settings.h"
#include "compute-agent/compute_agent.h"

int main(int argc, char** argv) {
  using namespace shareplane;
  BlockTerminationSignals();
  SetLogProgramName("shareplane-compute");
  auto config = Config::FromArgs(
      argc, argv,
      {"/etc/shareplane/shareplane.conf", "/etc/shareplane/compute.conf"});
  if (!config.ok()) {
    SP_LOG(Error) << config.status().message();
    return 2;
  }
  ConfigureLogging(*config, "shareplane-compute");
  auto service = ComputeAgent::Create(*config);
  if (!service.ok()) {
    SP_LOG(Error) << service.status().message();
    return 1;
  }
  if (absl::Status s = (*service)->Start(); !s.ok()) {
    SP_LOG(Error) << s.message();
    return 1;
  }
  NotifySystemd("READY=1");
  int sig = WaitForTerminationSignal();
  SP_LOG(Info) << "Stopping on signal " << sig;
  NotifySystemd("STOPPING=1");
  (*service)->Stop();
  return 0;
}
