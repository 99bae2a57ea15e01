// shareplane-compute: the per-host compute agent.
#include "common/core/daemon.h"
#include "compute-agent/compute_agent.h"

int main(int argc, char** argv) {
  return shareplane::RunDaemon<shareplane::ComputeAgent>(
      argc, argv, "shareplane-compute", "compute.conf");
}
