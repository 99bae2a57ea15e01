// Calls compute agents over gRPC. Channels are cached per endpoint. No gRPC
// header here. Thread-safe. Every call has `deadline`; errors keep the
// agent's canonical code (Unavailable when it cannot be reached).
#ifndef SHAREPLANE_CONDUCTOR_AGENT_CLIENT_H_
#define SHAREPLANE_CONDUCTOR_AGENT_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/grpc_server.h"
#include "shareplane/agent/v1/agent.pb.h"

namespace shareplane {

class AgentClient {
 public:
  explicit AgentClient(Duration deadline, GrpcTls tls = {});
  virtual ~AgentClient();

  virtual absl::StatusOr<agent::v1::PowerReply> PowerOn(
      const std::string& endpoint, const agent::v1::ServerSpec& spec);
  virtual absl::StatusOr<agent::v1::PowerReply> PowerOff(
      const std::string& endpoint, const std::string& server_uuid);
  virtual absl::StatusOr<agent::v1::PowerReply> Reboot(
      const std::string& endpoint, const agent::v1::ServerSpec& spec,
      bool hard);
  virtual absl::StatusOr<agent::v1::PowerReply> DeleteServer(
      const std::string& endpoint, const std::string& server_uuid);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_AGENT_CLIENT_H_
