// The `shareplane` command: python-openstackclient-style commands for
// servers, their shares, flavors, hosts and server events over the compute
// REST API.
//
//   shareplane [--os-* options] [--debug] COMMAND [options] [-f FORMAT]
//              [-c COLUMN ...]
#ifndef SHAREPLANE_CLI_SHAREPLANE_CLI_H_
#define SHAREPLANE_CLI_SHAREPLANE_CLI_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "common/core/clock.h"

namespace shareplane::cli {

struct CliEnvironment {
  std::map<std::string, std::string> env;  // OS_*, HOME
  bool terminal = false;  // stderr is a terminal: show --wait progress
  // Poll interval of --wait, and how long it waits at most, on `clock`.
  int wait_interval_ms = 1000;
  int wait_timeout_s = 600;
  Clock* clock = RealClock::Get();
};

// Runs one command. Results go to `out`, errors and --debug to `err`.
// Returns the exit code: 0 ok, 1 failure, 2 usage.
int RunShareplane(const std::vector<std::string>& args,
                  const CliEnvironment& environment, std::ostream& out,
                  std::ostream& err);

// A bash completion script for the command set (`shareplane complete`).
std::string BashCompletion();

}  // namespace shareplane::cli

#endif  // SHAREPLANE_CLI_SHAREPLANE_CLI_H_
