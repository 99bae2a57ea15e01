// shareplane-api: the compute REST API (Nova-compatible) and outbox relay.
#include "api-service/api_service.h"
#include "common/core/daemon.h"

int main(int argc, char** argv) {
  return shareplane::RunDaemon<shareplane::ApiService>(
      argc, argv, "shareplane-api", "api.conf");
}
