// shareplane: the user's command line (see cli/shareplane_cli.h).
#include <unistd.h>

#include <iostream>

#include "cli/shareplane_cli.h"

extern char** environ;

int main(int argc, char** argv) {
  shareplane::cli::CliEnvironment env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env.terminal = isatty(STDERR_FILENO) == 1;
  return shareplane::cli::RunShareplane(
      std::vector<std::string>(argv + 1, argv + argc), env, std::cout,
      std::cerr);
}
