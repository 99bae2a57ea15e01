// What the `shareplane` commands share: a parsed command line, the context
// a command runs in, its table entry, and the look-ups by name or ID. Each
// command is one function, by resource: share_commands.cc,
// server_commands.cc, resource_commands.cc (flavors, hosts); the table that
// maps words to them is in shareplane_cli.cc.
#ifndef SHAREPLANE_CLI_COMMAND_H_
#define SHAREPLANE_CLI_COMMAND_H_

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/shareplane_cli.h"

namespace shareplane::cli {

// Options of one command line, after the command words.
struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> options;  // "--tag" -> value
  bool Has(const std::string& name) const { return options.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& def = "") const {
    auto it = options.find(name);
    return it == options.end() ? def : it->second;
  }
  std::vector<std::string> All(const std::string& name) const {
    std::vector<std::string> out;
    auto [a, b] = options.equal_range(name);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
  }
};

struct Ctx {
  ComputeClient& api;
  const Args& args;
  OutputOptions output;
  std::ostream& out;
  std::ostream& err;
  const CliEnvironment& env;
};

struct Command {
  std::vector<std::string> words;
  std::vector<std::string> positionals;  // names, for usage
  std::vector<std::string> value_options;
  std::vector<std::string> flags;
  std::string help;
  std::function<absl::Status(Ctx&)> run;
};

// An ID as a URL path segment: anything that could change the route
// matches nothing instead.
std::string Path(const std::string& id);

nlohmann::ordered_json Ordered(const nlohmann::json& j);

// A server by UUID or by exact name among the caller's servers.
absl::StatusOr<nlohmann::json> FindServer(Ctx& c,
                                          const std::string& name_or_id);
absl::StatusOr<nlohmann::json> FindFlavor(Ctx& c,
                                          const std::string& name_or_id);

// An object's fields, sorted, without its links.
Record PlainRecord(const nlohmann::json& object);

// share_commands.cc
absl::Status ServerAddShare(Ctx& c);
absl::Status ServerRemoveShare(Ctx& c);
absl::Status ServerShareList(Ctx& c);
absl::Status ServerShareShow(Ctx& c);

// server_commands.cc
absl::Status ServerCreate(Ctx& c);
absl::Status ServerList(Ctx& c);
absl::Status ServerShow(Ctx& c);
absl::Status ServerStart(Ctx& c);
absl::Status ServerStop(Ctx& c);
absl::Status ServerReboot(Ctx& c);
absl::Status ServerDelete(Ctx& c);
absl::Status ServerEventList(Ctx& c);
// POSTs `action` to the server's action route; with --wait, polls until its
// status is in `done` (ERROR or gone fails).
absl::Status ServerAction(Ctx& c, const nlohmann::json& action,
                          const std::string& verb,
                          const std::set<std::string>& done);

// move_commands.cc
absl::Status ServerMigrate(Ctx& c);
absl::Status ServerResize(Ctx& c);
absl::Status ServerResizeConfirm(Ctx& c);
absl::Status ServerResizeRevert(Ctx& c);
absl::Status ServerEvacuate(Ctx& c);
absl::Status ServerShelve(Ctx& c);
absl::Status ServerUnshelve(Ctx& c);
absl::Status ServerRebuild(Ctx& c);
absl::Status ServiceSet(Ctx& c);
absl::Status MigrationList(Ctx& c);

// resource_commands.cc
absl::Status FlavorCreate(Ctx& c);
absl::Status FlavorList(Ctx& c);
absl::Status FlavorShow(Ctx& c);
absl::Status HostList(Ctx& c);

}  // namespace shareplane::cli

#endif  // SHAREPLANE_CLI_COMMAND_H_
