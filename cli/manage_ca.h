// shareplane-manage ca: a small certificate authority for the agent plane
// (conductor <-> compute agents), made with Debian's openssl(1).
//
//   shareplane-manage ca init [--dir /etc/shareplane/pki] [--days 3650]
//   shareplane-manage ca issue NAME [--dir D] [--days 825] [--ip A]...
//                    [--dns N]...
//
// `init` writes ca.pem and ca.key; `issue` writes NAME.pem and NAME.key,
// signed by that CA, whose subjectAltName is DNS:NAME (plus the --dns and
// --ip given), for both TLS server and client use. Issue one per compute
// host (NAME = its [DEFAULT] host) and one for the conductor (NAME =
// [compute] grpc_conductor_name, shareplane-conductor by default). Keys are
// written mode 0600.
#ifndef SHAREPLANE_CLI_MANAGE_CA_H_
#define SHAREPLANE_CLI_MANAGE_CA_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace shareplane {

// words: {"ca", "init"|"issue", [NAME]}; opts: the command's --key value
// pairs. Returns the exit code (0 ok, 1 failure, 2 usage).
int RunCa(const std::vector<std::string>& words,
          const std::multimap<std::string, std::string>& opts,
          std::ostream& out, std::ostream& err);

}  // namespace shareplane

#endif  // SHAREPLANE_CLI_MANAGE_CA_H_
