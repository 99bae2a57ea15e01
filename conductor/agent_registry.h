// The conductor's gRPC endpoint for compute agents: Register (creates or
// refreshes the host in compute_hosts) and Heartbeat. No gRPC header here.
#ifndef SHAREPLANE_CONDUCTOR_AGENT_REGISTRY_H_
#define SHAREPLANE_CONDUCTOR_AGENT_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/grpc/grpc_server.h"
#include "common/pg/db.h"

namespace shareplane {

class AgentRegistryServer {
 public:
  // A host whose stops may take `agent_timeout_seconds` or longer
  // (HostFacts.stop_budget_seconds) is refused: its stops would be
  // recorded as failed while it still performs them. 0: not checked.
  AgentRegistryServer(Database& db, int heartbeat_interval_seconds,
                      GrpcTls tls = {}, int agent_timeout_seconds = 0);
  ~AgentRegistryServer();

  // Serves on host:port (0 picks a free port); returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_AGENT_REGISTRY_H_
