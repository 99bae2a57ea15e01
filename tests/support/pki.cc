#include "tests/support/pki.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "tests/support/test_support.h"

namespace shareplane::testing {

TestPki& TestPki::Get() {
  static TestPki* pki = new TestPki();
  return *pki;
}

TestPki::TestPki() : dir_(NewTempDir("pki")) {
  CommandResult r =
      RunCommand("ca-init", {BinaryPath("cli/shareplane-manage"), "ca", "init",
                             "--dir", dir_, "--days", "2"});
  if (r.exit_code != 0) {
    throw std::runtime_error("shareplane-manage ca init failed: " + r.err);
  }
}

void TestPki::Issue(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (issued_.count(name)) return;
  CommandResult r = RunCommand(
      "ca-issue", {BinaryPath("cli/shareplane-manage"), "ca", "issue", name,
                   "--dir", dir_, "--days", "2", "--ip", "127.0.0.1"});
  if (r.exit_code != 0) {
    throw std::runtime_error(
        absl::StrCat("shareplane-manage ca issue ", name, " failed: ", r.err));
  }
  issued_.insert(name);
}

std::string TestPki::cert_file(const std::string& name) {
  Issue(name);
  return absl::StrCat(dir_, "/", name, ".pem");
}

std::string TestPki::key_file(const std::string& name) {
  Issue(name);
  return absl::StrCat(dir_, "/", name, ".key");
}

std::vector<std::string> TestPki::Flags(const std::string& name) {
  return {"--compute.grpc_tls_cert_file=" + cert_file(name),
          "--compute.grpc_tls_key_file=" + key_file(name),
          "--compute.grpc_tls_ca_file=" + ca_file()};
}

std::string TestPki::Config(const std::string& name) {
  return absl::StrCat("[compute]\ngrpc_tls_cert_file = ", cert_file(name),
                      "\ngrpc_tls_key_file = ", key_file(name),
                      "\ngrpc_tls_ca_file = ", ca_file(), "\n");
}

GrpcTls TestPki::Tls(const std::string& name) {
  GrpcTls t;
  t.cert_file = cert_file(name);
  t.key_file = key_file(name);
  t.ca_file = ca_file();
  return t;
}

std::shared_ptr<grpc::Channel> TestPki::Channel(const std::string& endpoint,
                                                const std::string& client,
                                                const std::string& server) {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = read(ca_file());
  if (!client.empty()) {
    o.pem_private_key = read(key_file(client));
    o.pem_cert_chain = read(cert_file(client));
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(server);
  return grpc::CreateCustomChannel(endpoint, grpc::SslCredentials(o), args);
}

}  // namespace shareplane::testing
