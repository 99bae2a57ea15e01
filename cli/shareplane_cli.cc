#include "cli/shareplane_cli.h"

#include <algorithm>
#include <optional>
#include <set>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/client.h"
#include "cli/command.h"
#include "cli/output.h"

namespace shareplane::cli {
namespace {

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {{"server", "add", "share"},
       {"SERVER", "SHARE"},
       {"--tag", "--wait-timeout"},
       {"--read-only", "--wait"},
       "Attach a Manila share to a server (stopped, or running where its "
       "host hot-plugs shares); --read-only: every write in the guest fails",
       ServerAddShare},
      {{"server", "remove", "share"},
       {"SERVER", "SHARE"},
       {"--wait-timeout"},
       {"--wait"},
       "Detach a share from a server; on a running one, unmount it in the "
       "guest first (the device is pulled like a disk)",
       ServerRemoveShare},
      {{"server", "share", "list"},
       {"SERVER"},
       {},
       {},
       "List the shares attached to a server",
       ServerShareList},
      {{"server", "share", "show"},
       {"SERVER", "SHARE"},
       {},
       {},
       "Show one share attachment",
       ServerShareShow},
      {{"server", "create"},
       {"NAME"},
       {"--flavor", "--image", "--availability-zone", "--wait-timeout"},
       {"--wait"},
       "Create a server",
       ServerCreate},
      {{"server", "list"},
       {},
       {},
       {"--all-projects"},
       "List servers",
       ServerList},
      {{"server", "show"}, {"SERVER"}, {}, {}, "Show a server", ServerShow},
      {{"server", "start"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Start a server",
       ServerStart},
      {{"server", "stop"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Stop a server",
       ServerStop},
      {{"server", "reboot"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--hard", "--soft", "--wait"},
       "Reboot a server",
       ServerReboot},
      {{"server", "delete"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Delete a server",
       ServerDelete},
      {{"server", "event", "list"},
       {"SERVER"},
       {},
       {"--long"},
       "List the actions on a server",
       ServerEventList},
      {{"server", "migrate"},
       {"SERVER"},
       {"--host", "--wait-timeout"},
       {"--wait"},
       "Cold-migrate a server with its shares to another host (admin); then "
       "'server resize confirm' or 'revert'",
       ServerMigrate},
      {{"server", "resize"},
       {"SERVER"},
       {"--flavor", "--wait-timeout"},
       {"--wait"},
       "Resize a server with its shares to another flavor (and host); then "
       "'server resize confirm' or 'revert'",
       ServerResize},
      {{"server", "resize", "confirm"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Confirm a migration or resize: the source host lets go",
       ServerResizeConfirm},
      {{"server", "resize", "revert"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Revert a migration or resize: back to the source host and flavor",
       ServerResizeRevert},
      {{"server", "evacuate"},
       {"SERVER"},
       {"--host", "--password", "--wait-timeout"},
       {"--wait"},
       "Rebuild a server whose host is down on another host, with its "
       "shares (admin)",
       ServerEvacuate},
      {{"server", "shelve"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--offload", "--wait"},
       "Shelve a server (offloaded at once by default)",
       ServerShelve},
      {{"server", "unshelve"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Unshelve a server (on a host picked anew when offloaded)",
       ServerUnshelve},
      {{"server", "rebuild"},
       {"SERVER"},
       {"--image", "--name", "--wait-timeout"},
       {"--wait"},
       "Rebuild a server from an image, keeping its shares",
       ServerRebuild},
      {{"server", "migration", "list"},
       {},
       {"--server"},
       {},
       "List migrations (admin)",
       MigrationList},
      {{"compute", "service", "set"},
       {"HOST", "SERVICE"},
       {},
       {"--down", "--up", "--enable", "--disable"},
       "Mark a compute service down or up, enabled or disabled (admin)",
       ServiceSet},
      {{"flavor", "create"},
       {"NAME"},
       {"--ram", "--vcpus", "--disk", "--id", "--property"},
       {"--private", "--public"},
       "Create a flavor (admin)",
       FlavorCreate},
      {{"flavor", "list"}, {}, {}, {}, "List flavors", FlavorList},
      {{"flavor", "show"}, {"FLAVOR"}, {}, {}, "Show a flavor", FlavorShow},
      {{"host", "list"},
       {},
       {},
       {},
       "List compute hosts with their traits (admin)",
       HostList},
  };
  return *commands;
}

std::string Usage() {
  std::string s =
      "usage: shareplane [--os-cloud NAME] [--os-auth-url URL] "
      "[--os-username U] [--os-password P]\n"
      "                  [--os-project-name P] [--os-region-name R] "
      "[--os-auth-type T] [--os-endpoint URL]\n"
      "                  [--os-compute-api-version V] [--debug] COMMAND "
      "[options] [-f table|json|yaml|value] [-c COLUMN]\n\ncommands:\n";
  for (const Command& c : Commands()) {
    std::string line = absl::StrJoin(c.words, " ");
    for (const auto& p : c.positionals) absl::StrAppend(&line, " ", p);
    for (const auto& o : c.value_options) {
      absl::StrAppend(
          &line, " [", o, " ",
          absl::AsciiStrToUpper(std::string(absl::StripPrefix(o, "--"))), "]");
    }
    for (const auto& f : c.flags) absl::StrAppend(&line, " [", f, "]");
    absl::StrAppend(&s, "  ", line, "\n      ", c.help, "\n");
  }
  absl::StrAppend(&s, "  complete\n      Print a bash completion script\n");
  return s;
}

bool IsGlobalFlag(const std::string& a) { return a == "--debug"; }

// How a command line ends before any command runs: the exit code and what
// goes to stdout and to stderr.
struct EarlyExit {
  int code = 0;
  std::string out;
  std::string err;
};

// A command line that names a command to run.
struct CommandLine {
  std::map<std::string, std::string> os_options;  // "auth_url" -> value
  bool debug = false;
  const Command* command = nullptr;
  Args args;
  OutputOptions output;
};

// The global options before the command, from args[*i]; *i ends at the
// first word that is not an option.
std::optional<EarlyExit> ParseGlobalOptions(
    const std::vector<std::string>& args, size_t* i, CommandLine* line) {
  for (; *i < args.size() && absl::StartsWith(args[*i], "-"); ++*i) {
    const std::string& a = args[*i];
    if (IsGlobalFlag(a)) {
      line->debug = true;
      continue;
    }
    if (a == "-h" || a == "--help") return EarlyExit{0, Usage(), ""};
    if (!absl::StartsWith(a, "--os-")) {
      return EarlyExit{
          2, "", absl::StrCat("shareplane: unknown option ", a, "\n", Usage())};
    }
    std::string name = a.substr(5), value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (*i + 1 < args.size()) {
      value = args[++*i];
    } else {
      return EarlyExit{2, "",
                       absl::StrCat("shareplane: ", a, " needs a value\n")};
    }
    line->os_options[absl::StrReplaceAll(name, {{"-", "_"}})] = value;
  }
  return std::nullopt;
}

// The longest command whose words start `rest`, or null.
const Command* FindCommand(const std::vector<std::string>& rest) {
  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (rest.size() >= c.words.size() &&
        std::equal(c.words.begin(), c.words.end(), rest.begin()) &&
        (!command || c.words.size() > command->words.size())) {
      command = &c;
    }
  }
  return command;
}

// The command's options, flags, positionals, -f and -c, after its words.
std::optional<EarlyExit> ParseCommandArgs(const std::vector<std::string>& rest,
                                          CommandLine* line) {
  const Command& command = *line->command;
  auto is = [](const std::vector<std::string>& v, const std::string& a) {
    return std::find(v.begin(), v.end(), a) != v.end();
  };
  for (size_t k = command.words.size(); k < rest.size(); ++k) {
    const std::string& a = rest[k];
    if (a == "--help" || a == "-h") return EarlyExit{0, Usage(), ""};
    if (a == "-f" || a == "--format" || a == "-c" || a == "--column" ||
        is(command.value_options, a)) {
      if (k + 1 >= rest.size()) {
        return EarlyExit{2, "",
                         absl::StrCat("shareplane: argument ", a,
                                      ": expected one argument\n")};
      }
      const std::string& v = rest[++k];
      if (a == "-f" || a == "--format") {
        auto f = ParseFormat(v);
        if (!f.ok()) {
          return EarlyExit{2, "",
                           absl::StrCat("shareplane: argument -f: ",
                                        f.status().message(), "\n")};
        }
        line->output.format = *f;
      } else if (a == "-c" || a == "--column") {
        line->output.columns.push_back(v);
      } else {
        line->args.options.emplace(a, v);
      }
    } else if (is(command.flags, a)) {
      line->args.options.emplace(a, "");
    } else if (absl::StartsWith(a, "-") && a.size() > 1) {
      return EarlyExit{
          2, "",
          absl::StrCat("shareplane ", absl::StrJoin(command.words, " "),
                       ": unrecognized argument ", a, "\n")};
    } else {
      line->args.positional.push_back(a);
    }
  }
  if (line->args.positional.size() != command.positionals.size()) {
    const std::string words = absl::StrJoin(command.words, " ");
    return EarlyExit{
        2, "",
        absl::StrCat("usage: shareplane ", words, " ",
                     absl::StrJoin(command.positionals, " "), "\n",
                     "shareplane ", words, ": expects ",
                     command.positionals.size(), " argument(s)\n")};
  }
  return std::nullopt;
}

// The whole command line: global options, the command and its arguments.
std::variant<CommandLine, EarlyExit> ParseCommandLine(
    const std::vector<std::string>& args) {
  CommandLine line;
  size_t i = 0;
  if (auto exit = ParseGlobalOptions(args, &i, &line)) return *exit;
  std::vector<std::string> rest(args.begin() + static_cast<long>(i),
                                args.end());
  if (rest.empty()) return EarlyExit{2, "", Usage()};
  if (rest[0] == "complete") return EarlyExit{0, BashCompletion(), ""};
  if (rest[0] == "help") return EarlyExit{0, Usage(), ""};
  line.command = FindCommand(rest);
  if (line.command == nullptr) {
    return EarlyExit{2, "",
                     absl::StrCat("shareplane: '", absl::StrJoin(rest, " "),
                                  "' is not a shareplane command. See "
                                  "'shareplane --help'.\n")};
  }
  if (auto exit = ParseCommandArgs(rest, &line)) return *exit;
  return line;
}

}  // namespace

std::string BashCompletion() {
  std::set<std::string> first;
  std::map<std::string, std::set<std::string>> next;  // "server" -> words
  std::map<std::string, std::set<std::string>> opts;  // full command -> opts
  for (const Command& c : Commands()) {
    first.insert(c.words[0]);
    std::string prefix;
    for (size_t i = 0; i < c.words.size(); ++i) {
      if (i > 0) next[prefix].insert(c.words[i]);
      prefix += (i ? " " : "") + c.words[i];
    }
    auto& o = opts[prefix];
    o.insert(c.value_options.begin(), c.value_options.end());
    o.insert(c.flags.begin(), c.flags.end());
    o.insert({"-f", "-c", "--help"});
  }
  first.insert("complete");
  std::string s =
      "# bash completion for shareplane: source it, or install it as\n"
      "# /etc/bash_completion.d/shareplane (shareplane complete > ...)\n"
      "_shareplane() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} words=\"\" w\n"
      "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
      "    case $w in -*) ;; *) words=\"${words:+$words }$w\" ;; esac\n"
      "  done\n"
      "  local choices\n"
      "  case $words in\n";
  for (const auto& [cmd, o] : opts) {
    absl::StrAppend(&s, "    \"", cmd, "\"*) choices=\"", absl::StrJoin(o, " "),
                    "\" ;;\n");
  }
  for (const auto& [prefix, words] : next) {
    absl::StrAppend(&s, "    \"", prefix, "\") choices=\"",
                    absl::StrJoin(words, " "), "\" ;;\n");
  }
  absl::StrAppend(&s, "    \"\") choices=\"", absl::StrJoin(first, " "),
                  " --debug --os-cloud --os-auth-url --os-username "
                  "--os-password --os-project-name --os-region-name "
                  "--os-auth-type --os-endpoint --os-compute-api-version\" "
                  ";;\n");
  s += "  esac\n"
       "  COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\"))\n"
       "}\n"
       "complete -F _shareplane shareplane\n";
  return s;
}

int RunShareplane(const std::vector<std::string>& args,
                  const CliEnvironment& environment, std::ostream& out,
                  std::ostream& err) {
  auto parsed = ParseCommandLine(args);
  if (const EarlyExit* exit = std::get_if<EarlyExit>(&parsed)) {
    out << exit->out;
    err << exit->err;
    return exit->code;
  }
  const CommandLine& line = std::get<CommandLine>(parsed);
  auto credentials = LoadCredentials(line.os_options, environment.env);
  if (!credentials.ok()) {
    err << credentials.status().message() << "\n";
    return 1;
  }
  ComputeClient api(*credentials, line.debug ? &err : nullptr);
  Ctx ctx{api, line.args, line.output, out, err, environment};
  absl::Status s = line.command->run(ctx);
  if (!s.ok()) {
    err << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace shareplane::cli
