// shareplane-manage: operator commands against the database.
//
//   shareplane-manage [--config-file F] [--database.connection=URL] db sync
//   shareplane-manage ... db version
//   shareplane-manage ... flavor create --name N [--id I] [--vcpus 1]
//                         [--ram 512] [--disk 0] [--property k=v ...]
//   shareplane-manage ... server create --name N --flavor F --host H
//                         --project P [--user U] [--state stopped|active]
//   shareplane-manage ... host list
#ifndef SHAREPLANE_CLI_MANAGE_H_
#define SHAREPLANE_CLI_MANAGE_H_

#include <ostream>
#include <string>
#include <vector>

namespace shareplane {

// Runs one command; prints results to `out` and errors to `err`. Returns the
// process exit code (0 ok, 1 failure, 2 usage).
int RunManage(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err);

}  // namespace shareplane

#endif  // SHAREPLANE_CLI_MANAGE_H_
