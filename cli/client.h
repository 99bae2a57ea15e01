// The shareplane CLI's connection to the compute API: credentials from
// command-line options, OS_* environment variables or clouds.yaml (in that
// order, as python-openstackclient reads them), Keystone or noauth, and
// the HTTP calls with --debug output that never shows a token or password.
#ifndef SHAREPLANE_CLI_CLIENT_H_
#define SHAREPLANE_CLI_CLIENT_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"

namespace shareplane {
class KeystoneSession;
}

namespace shareplane::cli {

struct Credentials {
  // "password", "v3applicationcredential", "token" (an existing Keystone
  // token with the catalog read from Keystone), or "noauth" (X-Auth-Token
  // "user:project" sent to `endpoint`, for noauth2 deployments).
  std::string auth_type;
  std::string auth_url;
  std::string username;
  std::string password;
  std::string project_name;
  std::string user_domain_name = "Default";
  std::string project_domain_name = "Default";
  std::string application_credential_id;
  std::string application_credential_secret;
  std::string token;
  std::string region_name;
  std::string interface = "public";
  std::string endpoint;  // compute endpoint override (e.g. .../v2.1)
  std::string compute_api_version = "2.97";
};

// `options` holds the --os-* options given (without "--os-", dashes as
// underscores: "auth_url"); `env` the environment. OS_CLOUD / --os-cloud
// selects a cloud of clouds.yaml (./clouds.yaml,
// ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml); options
// win over the environment, which wins over the file. InvalidArgument
// names what is missing.
absl::StatusOr<Credentials> LoadCredentials(
    const std::map<std::string, std::string>& options,
    const std::map<std::string, std::string>& env);

// The parts of clouds.yaml the CLI reads: clouds.<name>.{auth.*,
// region_name, interface, auth_type, compute_api_version}, flattened as
// "auth.username" etc. NotFound if the cloud is not in the text.
absl::StatusOr<std::map<std::string, std::string>> ParseCloudsYaml(
    const std::string& text, const std::string& cloud);

struct ApiError {
  int status = 0;
  std::string message;
  std::string request_id;
};

class ComputeClient {
 public:
  // `debug`, if not null, receives each exchange with secrets masked.
  ComputeClient(Credentials credentials, std::ostream* debug);
  ~ComputeClient();

  // Calls the compute API; `path` starts at /servers, /flavors, ... The
  // decoded body (null when empty). On an HTTP error the status carries
  // "<API message> (HTTP <code>) (Request-ID: <id>)", coded by the HTTP
  // status (NotFound for 404, ...).
  absl::StatusOr<nlohmann::json> Call(const std::string& method,
                                      const std::string& path,
                                      const nlohmann::json& body = nullptr);

 private:
  absl::Status Connect();
  Credentials credentials_;
  std::ostream* debug_;
  std::unique_ptr<KeystoneSession> keystone_;
  std::string token_;
  std::string base_url_;  // .../v2.1 without a trailing slash
};

// "{SHA256}<hex>" of a secret, as OSC's --debug prints tokens.
std::string MaskSecret(const std::string& secret);

}  // namespace shareplane::cli

#endif  // SHAREPLANE_CLI_CLIENT_H_
