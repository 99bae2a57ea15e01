// A gRPC server over services the caller owns. Keeps gRPC headers out of
// every file that only needs to start or stop one. Not thread-safe.
#ifndef SHAREPLANE_COMMON_GRPC_SERVER_H_
#define SHAREPLANE_COMMON_GRPC_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace shareplane {

// Serves `service` (which must outlive Stop()) on host:port, port 0 picking
// a free one; returns the bound port. Unavailable if it cannot listen.
absl::StatusOr<int> StartGrpcServer(const std::string& host, int port,
                                    grpc::Service* service,
                                    std::unique_ptr<grpc::Server>& server);
// Shuts down with a 2 s grace period and resets `server`. Idempotent.
void StopGrpcServer(std::unique_ptr<grpc::Server>& server);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_GRPC_SERVER_H_
