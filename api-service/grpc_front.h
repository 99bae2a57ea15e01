// The public gRPC API (proto/shareplane/api/v1/compute.proto). Each RPC is
// carried out by the same ComputeApi as the REST routes, so validation,
// policy and errors are one implementation. No gRPC header here.
#ifndef SHAREPLANE_API_SERVICE_GRPC_FRONT_H_
#define SHAREPLANE_API_SERVICE_GRPC_FRONT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "api-service/compute_api.h"

namespace shareplane {

class GrpcFront {
 public:
  explicit GrpcFront(ComputeApi& compute);
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
