// The public gRPC API (proto/shareplane/api/v1/compute.proto): a thin
// adapter over the same ShareService and ServerService as the REST routes,
// so validation, policy and errors are one implementation. A status's code
// is the gRPC code (REST maps the same code through status.h's table) and
// its message the fault's message. No gRPC header here.
#ifndef SHAREPLANE_API_SERVICE_GRPC_FRONT_H_
#define SHAREPLANE_API_SERVICE_GRPC_FRONT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api-service/api_common.h"
#include "api-service/authenticator.h"
#include "api-service/server_service.h"
#include "api-service/share_service.h"

namespace shareplane {

class GrpcFront {
 public:
  GrpcFront(Authenticator& auth, const ApiDeps& deps, ShareService& shares,
            ServerService& servers);
  ~GrpcFront();
  // Serves on host:port (0 picks a free port); returns the bound port.
  absl::StatusOr<int> Start(const std::string& host, int port);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_GRPC_FRONT_H_
