// Calls compute agents over gRPC, each at the endpoint its host registered
// and, with TLS, only when its certificate names that host. Channels are
// cached per host and endpoint. No gRPC
// header here. Thread-safe. Every call has `deadline`; errors keep the
// agent's canonical code. An agent that cannot be reached (Unavailable: a
// restart, a network blip) is called again with backoff for up to
// `retry_budget`. When a call runs out of its deadline the agent may still
// be doing it: the client asks it (GetServerState) and answers with the
// state when the server reached the one the call was for, else with the
// deadline error naming the state it saw.
#ifndef SHAREPLANE_CONDUCTOR_AGENT_CLIENT_H_
#define SHAREPLANE_CONDUCTOR_AGENT_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/core/clock.h"
#include "common/grpc/grpc_server.h"
#include "common/pg/store.h"
#include "shareplane/agent/v1/agent.pb.h"

namespace shareplane {

class AgentClient {
 public:
  explicit AgentClient(Duration deadline, GrpcTls tls = {},
                       Duration retry_budget = std::chrono::seconds(30),
                       Clock* clock = nullptr);  // nullptr: the real clock
  virtual ~AgentClient();

  virtual absl::StatusOr<agent::v1::PowerReply> PowerOn(
      const ComputeHost& host, const agent::v1::ServerSpec& spec);
  virtual absl::StatusOr<agent::v1::PowerReply> PowerOff(
      const ComputeHost& host, const std::string& server_uuid);
  virtual absl::StatusOr<agent::v1::PowerReply> Reboot(
      const ComputeHost& host, const agent::v1::ServerSpec& spec, bool hard);
  // Not retried: a second rebuild is another reboot of the guest.
  virtual absl::StatusOr<agent::v1::PowerReply> Rebuild(
      const ComputeHost& host, const agent::v1::ServerSpec& spec);
  // Stops the domain, keeping its definition and the host's mounts (a
  // move's source until it is confirmed).
  virtual absl::StatusOr<agent::v1::PowerReply> StopServer(
      const ComputeHost& host, const std::string& server_uuid);
  virtual absl::StatusOr<agent::v1::PowerReply> DeleteServer(
      const ComputeHost& host, const std::string& server_uuid);
  virtual absl::StatusOr<agent::v1::PowerReply> GetServerState(
      const ComputeHost& host, const std::string& server_uuid);
  // Live attach and detach of one share of a running server.
  virtual absl::StatusOr<agent::v1::PowerReply> AttachFilesystem(
      const ComputeHost& host, const std::string& server_uuid,
      const agent::v1::Filesystem& fs);
  virtual absl::StatusOr<agent::v1::PowerReply> DetachFilesystem(
      const ComputeHost& host, const std::string& server_uuid,
      const agent::v1::Filesystem& fs);
  // One call each, never retried (the host audit asks again next pass).
  virtual absl::StatusOr<agent::v1::HostState> GetHostState(
      const ComputeHost& host);
  virtual absl::StatusOr<agent::v1::PowerReply> ReleaseMounts(
      const ComputeHost& host, const std::string& server_uuid);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_AGENT_CLIENT_H_
