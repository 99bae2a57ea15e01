// shareplane-conductor: task workflows and the agent registry.
#include "common/core/daemon.h"
#include "conductor/conductor_service.h"

int main(int argc, char** argv) {
  return shareplane::RunDaemon<shareplane::ConductorService>(
      argc, argv, "shareplane-conductor", "conductor.conf");
}
