#include "common/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"

namespace shareplane {

absl::StatusOr<int> StartGrpcServer(const std::string& host, int port,
                                    grpc::Service* service,
                                    std::unique_ptr<grpc::Server>& server) {
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat(host, ":", port),
                           grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(service);
  server = builder.BuildAndStart();
  if (!server || bound == 0) {
    server.reset();
    return absl::UnavailableError(
        absl::StrCat("Cannot serve gRPC on ", host, ":", port));
  }
  return bound;
}

void StopGrpcServer(std::unique_ptr<grpc::Server>& server) {
  if (!server) return;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server.reset();
}

}  // namespace shareplane
