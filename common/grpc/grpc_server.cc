#include "common/grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/core/config.h"
#include "common/core/log.h"

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
  t.conductor_name =
      c.GetString("compute", "grpc_conductor_name", t.conductor_name);
  t.insecure = c.GetBool("compute", "grpc_insecure", false);
  if (t.insecure) t.cert_file = t.key_file = t.ca_file = "";  // plaintext
  return t;
}

absl::Status CheckAgentPlaneTls(const GrpcTls& tls, const std::string& daemon) {
  if (tls.insecure) {
    SP_LOG(Warning) << "[compute] grpc_insecure = true: " << daemon
                    << " speaks plaintext gRPC on the agent plane, and any "
                       "peer that reaches its port is trusted";
    return absl::OkStatus();
  }
  if (tls.cert_file.empty() || tls.key_file.empty() || tls.ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        daemon,
        " needs a certificate for the agent plane: set [compute] "
        "grpc_tls_cert_file, grpc_tls_key_file and grpc_tls_ca_file "
        "(shareplane-manage ca init, then ca issue), or grpc_insecure = true "
        "for plaintext"));
  }
  if (tls.conductor_name.empty()) {
    return absl::InvalidArgumentError(
        "[compute] grpc_conductor_name cannot be empty");
  }
  return absl::OkStatus();
}

namespace {

// Whether the peer's verified certificate carries `name` in its
// subjectAltName.
bool CertificateNames(const grpc::AuthContext& auth, const std::string& name) {
  for (const auto& v : auth.FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
    if (std::string(v.data(), v.size()) == name) return true;
  }
  return false;
}

// Refuses, before the service sees it, a call whose client certificate
// does not name `name_`.
class PeerNameCheck final : public grpc::AuthMetadataProcessor {
 public:
  explicit PeerNameCheck(std::string name) : name_(std::move(name)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata&, grpc::AuthContext* context,
                       OutputMetadata*, OutputMetadata*) override {
    if (context != nullptr && CertificateNames(*context, name_)) {
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        absl::StrCat("Only ", name_,
                                     " may call this service: the client's "
                                     "certificate does not name it"));
  }

 private:
  std::string name_;
};

}  // namespace

bool PeerNamed(const grpc::ServerContext& ctx, const GrpcTls& tls,
               const std::string& name) {
  if (!tls.enabled()) return true;  // grpc_insecure: no identities
  auto auth = ctx.auth_context();
  return auth && auth->IsPeerAuthenticated() && CertificateNames(*auth, name);
}

absl::StatusOr<int> StartGrpcServer(const std::string& host, int port,
                                    grpc::Service* service,
                                    std::unique_ptr<grpc::Server>& server,
                                    const GrpcTls& tls,
                                    const std::string& peer_name) {
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::InsecureServerCredentials();
  if (tls.enabled()) {
    grpc::SslServerCredentialsOptions o(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    const std::string cert = ReadPem(tls.cert_file),
                      key = ReadPem(tls.key_file);
    if (cert.empty() || key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Cannot read the TLS certificate '", tls.cert_file,
                       "' or key '", tls.key_file, "'"));
    }
    o.pem_root_certs = ReadPem(tls.ca_file);
    if (o.pem_root_certs.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Cannot read the TLS CA '", tls.ca_file, "'"));
    }
    o.pem_key_cert_pairs.push_back({key, cert});
    creds = grpc::SslServerCredentials(o);
    if (!peer_name.empty()) {
      creds->SetAuthMetadataProcessor(
          std::make_shared<PeerNameCheck>(peer_name));
    }
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
                                               const GrpcTls& tls,
                                               const std::string& peer_name) {
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
  // The name checked is the peer's, not the address's: agents are reached
  // at whatever address they registered.
  if (!peer_name.empty()) args.SetSslTargetNameOverride(peer_name);
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
