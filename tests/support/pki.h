// The agent plane's certificates for tests: one CA per test process, made
// with `shareplane-manage ca` (so the tests use the operators' tool), and a
// certificate per name on first use. Thread-safe.
#ifndef SHAREPLANE_TESTS_SUPPORT_PKI_H_
#define SHAREPLANE_TESTS_SUPPORT_PKI_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/grpc/grpc_server.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace shareplane::testing {

class TestPki {
 public:
  static TestPki& Get();

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  // The certificate and key files of `name`, issued on first use.
  std::string cert_file(const std::string& name);
  std::string key_file(const std::string& name);
  // The daemon flags that give it `name`'s certificate.
  std::vector<std::string> Flags(const std::string& name);
  // [compute] lines of an INI file that give a daemon `name`'s certificate.
  std::string Config(const std::string& name);
  // A client's or server's TLS as `name`.
  GrpcTls Tls(const std::string& name);
  // A TLS channel to `endpoint` presenting `client`'s certificate (none when
  // empty), accepting a server whose certificate names `server`.
  std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint,
                                         const std::string& client,
                                         const std::string& server);

 private:
  TestPki();
  void Issue(const std::string& name);

  std::string dir_;
  std::mutex mu_;
  std::set<std::string> issued_;
};

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_SUPPORT_PKI_H_
