// A gRPC server over services the caller owns. Keeps gRPC headers out of
// every file that only needs to start or stop one. Not thread-safe.
#ifndef SHAREPLANE_COMMON_GRPC_GRPC_SERVER_H_
#define SHAREPLANE_COMMON_GRPC_GRPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class Channel;
class Server;
class ServerContext;
class Service;
}  // namespace grpc

namespace shareplane {

class Config;

// The agent plane (conductor <-> compute agents) is mutual TLS: [compute]
// grpc_tls_cert_file, grpc_tls_key_file and grpc_tls_ca_file on both
// sides. Each side checks the other's name in its certificate (the
// subjectAltName): an agent's certificate names its host, the conductor's
// names `conductor_name` ([compute] grpc_conductor_name). Plaintext only
// with [compute] grpc_insecure = true.
struct GrpcTls {
  std::string cert_file, key_file;  // this side's certificate and key (PEM)
  std::string ca_file;              // CA that signed the peers' certificates
  std::string conductor_name = "shareplane-conductor";
  bool insecure = false;  // plaintext, no names checked
  bool enabled() const { return !cert_file.empty(); }
};
GrpcTls GrpcTlsFrom(const Config& config);

// For a daemon of the agent plane at start: InvalidArgument naming the
// options when it has neither certificates nor grpc_insecure; logs a
// warning at every start with grpc_insecure.
absl::Status CheckAgentPlaneTls(const GrpcTls& tls, const std::string& daemon);

// Serves `service` (which must outlive Stop()) on host:port, port 0 picking
// a free one; returns the bound port. Unavailable if it cannot listen,
// InvalidArgument if the TLS files cannot be read. With TLS, a client must
// present a certificate of tls.ca_file's CA, and when `peer_name` is set
// that certificate must name it, else the call is refused
// (Unauthenticated) before it reaches the service.
absl::StatusOr<int> StartGrpcServer(const std::string& host, int port,
                                    grpc::Service* service,
                                    std::unique_ptr<grpc::Server>& server,
                                    const GrpcTls& tls = {},
                                    const std::string& peer_name = "");
// A channel to `endpoint`. With TLS it presents tls.cert_file and accepts
// only a server whose certificate, signed by tls.ca_file's CA, names
// `peer_name` (whatever address it is reached at).
std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& endpoint,
                                               const GrpcTls& tls,
                                               const std::string& peer_name);
// Whether the calling peer's verified certificate names `name` (always
// true without TLS, where there are no names to check).
bool PeerNamed(const grpc::ServerContext& ctx, const GrpcTls& tls,
               const std::string& name);
// Shuts down with a 2 s grace period and resets `server`. Idempotent.
void StopGrpcServer(std::unique_ptr<grpc::Server>& server);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_GRPC_GRPC_SERVER_H_
