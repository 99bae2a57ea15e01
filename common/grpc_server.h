// A gRPC server over services the caller owns. Keeps gRPC headers out of
// every file that only needs to start or stop one. Not thread-safe.
#ifndef SHAREPLANE_COMMON_GRPC_SERVER_H_
#define SHAREPLANE_COMMON_GRPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class Channel;
class Server;
class Service;
}  // namespace grpc

namespace shareplane {

class Config;

// TLS for the internal channel between conductor and agents ([compute]
// grpc_tls_cert_file, grpc_tls_key_file, grpc_tls_ca_file,
// grpc_tls_require_client_cert). Plaintext when no certificate is set.
struct GrpcTls {
  std::string cert_file, key_file;   // this side's certificate and key (PEM)
  std::string ca_file;               // CA that signed the peers' certificates
  bool require_client_cert = false;  // mutual TLS
  bool enabled() const { return !cert_file.empty(); }
};
GrpcTls GrpcTlsFrom(const Config& config);

// Serves `service` (which must outlive Stop()) on host:port, port 0 picking
// a free one; returns the bound port. Unavailable if it cannot listen,
// InvalidArgument if the TLS files cannot be read.
absl::StatusOr<int> StartGrpcServer(const std::string& host, int port,
                                    grpc::Service* service,
                                    std::unique_ptr<grpc::Server>& server,
                                    const GrpcTls& tls = {});
// A channel to `endpoint`, verifying the server with tls.ca_file and
// presenting tls.cert_file when TLS is enabled.
std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& endpoint,
                                               const GrpcTls& tls);
// Shuts down with a 2 s grace period and resets `server`. Idempotent.
void StopGrpcServer(std::unique_ptr<grpc::Server>& server);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_GRPC_SERVER_H_
