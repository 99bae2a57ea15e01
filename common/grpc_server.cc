#include "common/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/log.h"

namespace shareplane {
namespace {

std::string ReadPem(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

GrpcTls GrpcTlsFrom(const Config& c) {
  GrpcTls t;
  t.cert_file = c.GetString("compute", "grpc_tls_cert_file", "");
  t.key_file = c.GetString("compute", "grpc_tls_key_file", "");
  t.ca_file = c.GetString("compute", "grpc_tls_ca_file", "");
  t.require_client_cert =
      c.GetBool("compute", "grpc_tls_require_client_cert", false);
  return t;
}

absl::StatusOr<int> StartGrpcServer(const std::string& host, int port,
                                    grpc::Service* service,
                                    std::unique_ptr<grpc::Server>& server,
                                    const GrpcTls& tls) {
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::InsecureServerCredentials();
  if (tls.enabled()) {
    grpc::SslServerCredentialsOptions o(
        tls.require_client_cert
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    const std::string cert = ReadPem(tls.cert_file),
                      key = ReadPem(tls.key_file);
    if (cert.empty() || key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Cannot read the TLS certificate '", tls.cert_file,
                       "' or key '", tls.key_file, "'"));
    }
    o.pem_root_certs = ReadPem(tls.ca_file);
    o.pem_key_cert_pairs.push_back({key, cert});
    creds = grpc::SslServerCredentials(o);
  }
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat(host, ":", port), creds, &bound);
  builder.RegisterService(service);
  server = builder.BuildAndStart();
  if (!server || bound == 0) {
    server.reset();
    return absl::UnavailableError(
        absl::StrCat("Cannot serve gRPC on ", host, ":", port));
  }
  return bound;
}

std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& endpoint,
                                               const GrpcTls& tls) {
  // A peer that restarts is found again within ~2 s (gRPC's default
  // reconnect backoff grows to 120 s, longer than any caller waits).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  if (!tls.enabled()) {
    return grpc::CreateCustomChannel(endpoint,
                                     grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadPem(tls.ca_file);
  o.pem_private_key = ReadPem(tls.key_file);
  o.pem_cert_chain = ReadPem(tls.cert_file);
  return grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(o), args);
}

void StopGrpcServer(std::unique_ptr<grpc::Server>& server) {
  if (!server) return;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server.reset();
}

}  // namespace shareplane
