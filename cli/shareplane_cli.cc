#include "cli/shareplane_cli.h"

#include <chrono>
#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/client.h"
#include "cli/output.h"
#include "common/core/ids.h"
#include "common/core/retry.h"

namespace shareplane::cli {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

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

std::string Path(const std::string& id) {
  // Ids go into the URL path: anything that could change the route
  // matches nothing instead.
  return id.find_first_of("/?#% ") == std::string::npos ? id : "-";
}

ojson Ordered(const json& j) { return ojson::parse(j.dump()); }

// A server by UUID or by exact name among the caller's servers.
absl::StatusOr<json> FindServer(Ctx& c, const std::string& name_or_id) {
  if (IsUuid(name_or_id)) {
    auto r = c.api.Call("GET", "/servers/" + name_or_id);
    if (r.ok()) return (*r)["server"];
    if (r.status().code() != absl::StatusCode::kNotFound) return r.status();
  }
  auto list = c.api.Call("GET", "/servers/detail");
  if (!list.ok()) return list.status();
  std::vector<json> found;
  for (const json& s : (*list)["servers"]) {
    if (s.value("name", "") == name_or_id) found.push_back(s);
  }
  if (found.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "More than one server exists with the name '", name_or_id, "'."));
  }
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("No server with a name or ID of '",
                                            name_or_id, "' exists."));
  }
  return found[0];
}

absl::StatusOr<json> FindFlavor(Ctx& c, const std::string& name_or_id) {
  auto r = c.api.Call("GET", "/flavors/" + Path(name_or_id));
  if (r.ok()) return (*r)["flavor"];
  if (r.status().code() != absl::StatusCode::kNotFound) return r.status();
  auto list = c.api.Call("GET", "/flavors/detail");
  if (!list.ok()) return list.status();
  for (const json& f : (*list)["flavors"]) {
    if (f.value("name", "") == name_or_id) return f;
  }
  return absl::NotFoundError(absl::StrCat("No flavor with a name or ID of '",
                                          name_or_id, "' exists."));
}

std::string PowerState(int state) {
  switch (state) {
    case 1:
      return "Running";
    case 3:
      return "Paused";
    case 4:
      return "Shutdown";
    case 6:
      return "Crashed";
    case 7:
      return "Suspended";
    default:
      return "NOSTATE";
  }
}

std::string ImageCell(const json& image) {
  if (image.is_object()) return image.value("id", "");
  return "N/A (booted from volume)";
}

// A server as `server show` prints it: OSC's renames, sorted by field.
Record ServerRecord(const json& server) {
  std::map<std::string, ojson> fields;
  for (const auto& [k, v] : server.items()) {
    if (k == "links") continue;
    if (k == "tenant_id") {
      fields["project_id"] = Ordered(v);
    } else if (k == "OS-EXT-STS:power_state" && v.is_number_integer()) {
      fields[k] = PowerState(v.get<int>());
    } else if (k == "image") {
      fields[k] = ImageCell(v);
    } else if (k == "flavor" && v.is_object()) {
      ojson f = Ordered(v);
      f.erase("links");
      fields[k] =
          f.contains("original_name")
              ? ojson(absl::StrCat(f["original_name"].get<std::string>(), " (",
                                   Cell(f), ")"))
              : ojson(Cell(f));
    } else {
      fields[k] = Ordered(v);
    }
  }
  return Record(fields.begin(), fields.end());
}

Record PlainRecord(const json& object) {
  std::map<std::string, ojson> fields;
  for (const auto& [k, v] : object.items()) {
    if (k != "links") fields[k] = Ordered(v);
  }
  return Record(fields.begin(), fields.end());
}

// Polls `status` until it is in `done` (success), in `failed`, or the
// wait times out. "" from `status` means the resource is gone.
absl::Status WaitFor(Ctx& c, const std::string& what,
                     const std::function<absl::StatusOr<std::string>()>& status,
                     const std::set<std::string>& done,
                     const std::set<std::string>& failed) {
  Clock& clock = *c.env.clock;
  const TimePoint start = clock.Now();
  std::string last;
  int timeout_s = c.env.wait_timeout_s;
  if (c.args.Has("--wait-timeout") &&
      (!absl::SimpleAtoi(c.args.Get("--wait-timeout"), &timeout_s) ||
       timeout_s <= 0)) {
    return absl::InvalidArgumentError(
        "--wait-timeout takes a number of seconds greater than 0");
  }
  absl::Status s =
      PollUntil(clock, std::chrono::seconds(timeout_s),
                std::chrono::milliseconds(c.env.wait_interval_ms), what,
                [&]() -> absl::StatusOr<bool> {
                  auto now = status();
                  if (!now.ok()) return now.status();
                  last = *now;
                  if (c.env.terminal) {
                    c.err << "\r" << what << ": "
                          << (last.empty() ? "gone" : last) << " ("
                          << std::chrono::duration_cast<std::chrono::seconds>(
                                 clock.Now() - start)
                                 .count()
                          << " s)   " << std::flush;
                  }
                  return done.count(last) > 0 || failed.count(last) > 0;
                });
  if (c.env.terminal) c.err << "\n";
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(absl::StrCat(
        s.message(), " (last status: ", last.empty() ? "gone" : last, ")"));
  }
  if (!s.ok()) return s;
  if (failed.count(last)) {
    return absl::AbortedError(
        absl::StrCat("Error waiting for ", what, ": status ", last));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ServerStatus(Ctx& c, const std::string& id) {
  auto r = c.api.Call("GET", "/servers/" + id);
  if (r.status().code() == absl::StatusCode::kNotFound) return std::string();
  if (!r.ok()) return r.status();
  return (*r)["server"].value("status", "");
}

absl::StatusOr<std::string> ShareStatus(Ctx& c, const std::string& server,
                                        const std::string& share) {
  auto r = c.api.Call("GET", "/servers/" + server + "/shares/" + Path(share));
  if (r.status().code() == absl::StatusCode::kNotFound) return std::string();
  if (!r.ok()) return r.status();
  return (*r)["share"].value("status", "");
}

absl::Status ServerAction(Ctx& c, const json& action, const std::string& verb,
                          const std::set<std::string>& done) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  auto r = c.api.Call("POST", "/servers/" + id + "/action", action);
  if (!r.ok()) return r.status();
  if (!c.args.Has("--wait")) return absl::OkStatus();
  return WaitFor(c, "server " + verb, [&] { return ServerStatus(c, id); }, done,
                 {"ERROR", ""});
}

// --- commands -------------------------------------------------------------

absl::Status ServerAddShare(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  json share = {{"share_id", c.args.positional[1]}};
  if (c.args.Has("--tag")) share["tag"] = c.args.Get("--tag");
  auto r =
      c.api.Call("POST", "/servers/" + id + "/shares", json{{"share", share}});
  if (!r.ok()) return r.status();
  json result = (*r)["share"];
  if (c.args.Has("--wait")) {
    const std::string share_id = c.args.positional[1];
    absl::Status s = WaitFor(c, "share attachment",
                             [&] { return ShareStatus(c, id, share_id); },
                             {"inactive", "active"}, {"error", ""});
    if (!s.ok()) return s;
    auto shown =
        c.api.Call("GET", "/servers/" + id + "/shares/" + Path(share_id));
    if (!shown.ok()) return shown.status();
    result = (*shown)["share"];
  }
  return PrintRecord(PlainRecord(result), c.output, c.out);
}

absl::Status ServerRemoveShare(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  const std::string share_id = c.args.positional[1];
  auto r = c.api.Call("DELETE", "/servers/" + id + "/shares/" + Path(share_id));
  if (!r.ok()) return r.status();
  if (!c.args.Has("--wait")) return absl::OkStatus();
  return WaitFor(c, "share detachment",
                 [&] { return ShareStatus(c, id, share_id); }, {""}, {"error"});
}

absl::Status ServerShareList(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  auto r = c.api.Call(
      "GET", "/servers/" + (*server)["id"].get<std::string>() + "/shares");
  if (!r.ok()) return r.status();
  Listing l{{"Share ID", "Status", "Tag"}, {}};
  for (const json& s : (*r)["shares"]) {
    l.rows.push_back(
        {s.value("share_id", ""), s.value("status", ""), s.value("tag", "")});
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status ServerShareShow(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  auto r = c.api.Call("GET", "/servers/" + (*server)["id"].get<std::string>() +
                                 "/shares/" + Path(c.args.positional[1]));
  if (!r.ok()) return r.status();
  return PrintRecord(PlainRecord((*r)["share"]), c.output, c.out);
}

absl::Status ServerCreate(Ctx& c) {
  if (!c.args.Has("--flavor")) {
    return absl::InvalidArgumentError(
        "the following arguments are required: "
        "--flavor");
  }
  auto flavor = FindFlavor(c, c.args.Get("--flavor"));
  if (!flavor.ok()) return flavor.status();
  json server = {{"name", c.args.positional[0]},
                 {"flavorRef", (*flavor)["id"]},
                 {"networks", "none"}};
  if (c.args.Has("--image")) server["imageRef"] = c.args.Get("--image");
  if (c.args.Has("--availability-zone")) {
    server["availability_zone"] = c.args.Get("--availability-zone");
  }
  auto r = c.api.Call("POST", "/servers", json{{"server", server}});
  if (!r.ok()) return r.status();
  const std::string id = (*r)["server"]["id"];
  if (c.args.Has("--wait")) {
    absl::Status s =
        WaitFor(c, "server create", [&] { return ServerStatus(c, id); },
                {"ACTIVE"}, {"ERROR", ""});
    if (!s.ok()) return s;
  }
  auto shown = c.api.Call("GET", "/servers/" + id);
  if (!shown.ok()) return shown.status();
  json details = (*shown)["server"];
  details["adminPass"] = (*r)["server"].value("adminPass", "");
  return PrintRecord(ServerRecord(details), c.output, c.out);
}

absl::Status ServerList(Ctx& c) {
  auto r = c.api.Call(
      "GET", std::string("/servers/detail") +
                 (c.args.Has("--all-projects") ? "?all_tenants=1" : ""));
  if (!r.ok()) return r.status();
  Listing l{{"ID", "Name", "Status", "Networks", "Image", "Flavor"}, {}};
  if (c.args.Has("--all-projects")) l.columns.push_back("Project ID");
  for (const json& s : (*r)["servers"]) {
    std::string flavor;
    if (s.contains("flavor") && s["flavor"].is_object()) {
      flavor = s["flavor"].value("original_name",
                                 s["flavor"].value("id", std::string()));
    }
    std::vector<ojson> row = {
        s.value("id", ""),
        s.value("name", ""),
        s.value("status", ""),
        Cell(Ordered(s.value("addresses", json::object()))),
        ImageCell(s.value("image", json())),
        flavor};
    if (c.args.Has("--all-projects")) row.push_back(s.value("tenant_id", ""));
    l.rows.push_back(std::move(row));
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status ServerShow(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  return PrintRecord(ServerRecord(*server), c.output, c.out);
}

absl::Status ServerDelete(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  auto r = c.api.Call("DELETE", "/servers/" + id);
  if (!r.ok()) return r.status();
  if (!c.args.Has("--wait")) return absl::OkStatus();
  return WaitFor(c, "server delete", [&] { return ServerStatus(c, id); }, {""},
                 {"ERROR"});
}

absl::Status ServerEventList(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  auto r = c.api.Call("GET", "/servers/" + (*server)["id"].get<std::string>() +
                                 "/os-instance-actions");
  if (!r.ok()) return r.status();
  const bool long_form = c.args.Has("--long");
  Listing l{{"Request ID", "Server ID", "Action", "Start Time"}, {}};
  if (long_form) {
    l.columns.insert(l.columns.end(), {"Message", "Project ID", "User ID"});
  }
  for (const json& a : (*r)["instanceActions"]) {
    std::vector<ojson> row = {a.value("request_id", ""),
                              a.value("instance_uuid", ""),
                              a.value("action", ""), a.value("start_time", "")};
    if (long_form) {
      row.insert(row.end(),
                 {Ordered(a.value("message", json())),
                  a.value("project_id", ""), a.value("user_id", "")});
    }
    l.rows.push_back(std::move(row));
  }
  return PrintListing(l, c.output, c.out);
}

// A flavor's extra specs show as "properties", as in OSC.
json WithProperties(json flavor) {
  if (flavor.contains("extra_specs")) {
    flavor["properties"] = flavor["extra_specs"];
    flavor.erase("extra_specs");
  }
  return flavor;
}

absl::Status FlavorCreate(Ctx& c) {
  json flavor = {{"name", c.args.positional[0]}};
  for (const auto& [option, key, def] :
       std::vector<std::tuple<std::string, std::string, int>>{
           {"--ram", "ram", 256},
           {"--vcpus", "vcpus", 1},
           {"--disk", "disk", 0}}) {
    int v = def;
    if (c.args.Has(option) && !absl::SimpleAtoi(c.args.Get(option), &v)) {
      return absl::InvalidArgumentError(absl::StrCat("argument ", option,
                                                     ": invalid int value: '",
                                                     c.args.Get(option), "'"));
    }
    flavor[key] = v;
  }
  if (c.args.Has("--id")) flavor["id"] = c.args.Get("--id");
  if (c.args.Has("--private")) flavor["os-flavor-access:is_public"] = false;
  auto r = c.api.Call("POST", "/flavors", json{{"flavor", flavor}});
  if (!r.ok()) return r.status();
  json out = (*r)["flavor"];
  json specs = json::object();
  for (const std::string& p : c.args.All("--property")) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "argument --property: expected key=value, got '", p, "'"));
    }
    specs[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (!specs.empty()) {
    auto s =
        c.api.Call("POST", "/flavors/" + Path(out["id"]) + "/os-extra_specs",
                   json{{"extra_specs", specs}});
    if (!s.ok()) return s.status();
    out["extra_specs"] = (*s)["extra_specs"];
  }
  return PrintRecord(PlainRecord(WithProperties(out)), c.output, c.out);
}

absl::Status FlavorList(Ctx& c) {
  auto r = c.api.Call("GET", "/flavors/detail");
  if (!r.ok()) return r.status();
  Listing l{{"ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs", "Is Public"},
            {}};
  for (const json& f : (*r)["flavors"]) {
    l.rows.push_back(
        {f.value("id", ""), f.value("name", ""), f.value("ram", 0),
         f.value("disk", 0), f.value("OS-FLV-EXT-DATA:ephemeral", 0),
         f.value("vcpus", 0), f.value("os-flavor-access:is_public", true)});
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status FlavorShow(Ctx& c) {
  auto flavor = FindFlavor(c, c.args.positional[0]);
  if (!flavor.ok()) return flavor.status();
  json f = *flavor;
  if (!f.contains("extra_specs")) {
    auto specs =
        c.api.Call("GET", "/flavors/" + Path(f["id"]) + "/os-extra_specs");
    if (specs.ok()) f["extra_specs"] = (*specs)["extra_specs"];
  }
  return PrintRecord(PlainRecord(WithProperties(f)), c.output, c.out);
}

absl::Status HostList(Ctx& c) {
  auto r = c.api.Call("GET", "/os-hypervisors/detail");
  if (!r.ok()) return r.status();
  Listing l{{"Host", "State", "Status", "Hypervisor Type", "vCPUs", "Memory MB",
             "Traits"},
            {}};
  for (const json& h : (*r)["hypervisors"]) {
    l.rows.push_back({h.value("hypervisor_hostname", ""), h.value("state", ""),
                      h.value("status", ""), h.value("hypervisor_type", ""),
                      h.value("vcpus", 0), h.value("memory_mb", 0),
                      Ordered(h.value("traits", json::array()))});
  }
  return PrintListing(l, c.output, c.out);
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {{"server", "add", "share"},
       {"SERVER", "SHARE"},
       {"--tag", "--wait-timeout"},
       {"--wait"},
       "Attach a Manila share to a stopped server",
       ServerAddShare},
      {{"server", "remove", "share"},
       {"SERVER", "SHARE"},
       {"--wait-timeout"},
       {"--wait"},
       "Detach a share from a stopped server",
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
       [](Ctx& c) {
         return ServerAction(c, {{"os-start", nullptr}}, "start", {"ACTIVE"});
       }},
      {{"server", "stop"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--wait"},
       "Stop a server",
       [](Ctx& c) {
         return ServerAction(c, {{"os-stop", nullptr}}, "stop", {"SHUTOFF"});
       }},
      {{"server", "reboot"},
       {"SERVER"},
       {"--wait-timeout"},
       {"--hard", "--soft", "--wait"},
       "Reboot a server",
       [](Ctx& c) {
         return ServerAction(
             c,
             {{"reboot", {{"type", c.args.Has("--hard") ? "HARD" : "SOFT"}}}},
             "reboot", {"ACTIVE"});
       }},
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
  // Global options come before the command.
  std::map<std::string, std::string> os_options;
  bool debug = false;
  size_t i = 0;
  for (; i < args.size() && absl::StartsWith(args[i], "-"); ++i) {
    const std::string& a = args[i];
    if (IsGlobalFlag(a)) {
      debug = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      out << Usage();
      return 0;
    }
    if (!absl::StartsWith(a, "--os-")) {
      err << "shareplane: unknown option " << a << "\n" << Usage();
      return 2;
    }
    std::string name = a.substr(5), value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      err << "shareplane: " << a << " needs a value\n";
      return 2;
    }
    os_options[absl::StrReplaceAll(name, {{"-", "_"}})] = value;
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(i),
                                args.end());
  if (rest.empty()) {
    err << Usage();
    return 2;
  }
  if (rest[0] == "complete") {
    out << BashCompletion();
    return 0;
  }
  if (rest[0] == "help") {
    out << Usage();
    return 0;
  }
  // The longest command whose words start the rest.
  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (rest.size() >= c.words.size() &&
        std::equal(c.words.begin(), c.words.end(), rest.begin()) &&
        (!command || c.words.size() > command->words.size())) {
      command = &c;
    }
  }
  if (command == nullptr) {
    err << "shareplane: '" << absl::StrJoin(rest, " ")
        << "' is not a shareplane command. See 'shareplane --help'.\n";
    return 2;
  }
  Args parsed;
  OutputOptions output;
  auto is = [](const std::vector<std::string>& v, const std::string& a) {
    return std::find(v.begin(), v.end(), a) != v.end();
  };
  for (size_t k = command->words.size(); k < rest.size(); ++k) {
    const std::string& a = rest[k];
    if (a == "--help" || a == "-h") {
      out << Usage();
      return 0;
    }
    if (a == "-f" || a == "--format" || a == "-c" || a == "--column" ||
        is(command->value_options, a)) {
      if (k + 1 >= rest.size()) {
        err << "shareplane: argument " << a << ": expected one argument\n";
        return 2;
      }
      const std::string& v = rest[++k];
      if (a == "-f" || a == "--format") {
        auto f = ParseFormat(v);
        if (!f.ok()) {
          err << "shareplane: argument -f: " << f.status().message() << "\n";
          return 2;
        }
        output.format = *f;
      } else if (a == "-c" || a == "--column") {
        output.columns.push_back(v);
      } else {
        parsed.options.emplace(a, v);
      }
    } else if (is(command->flags, a)) {
      parsed.options.emplace(a, "");
    } else if (absl::StartsWith(a, "-") && a.size() > 1) {
      err << "shareplane " << absl::StrJoin(command->words, " ")
          << ": unrecognized argument " << a << "\n";
      return 2;
    } else {
      parsed.positional.push_back(a);
    }
  }
  if (parsed.positional.size() != command->positionals.size()) {
    err << "usage: shareplane " << absl::StrJoin(command->words, " ") << " "
        << absl::StrJoin(command->positionals, " ") << "\n"
        << "shareplane " << absl::StrJoin(command->words, " ") << ": expects "
        << command->positionals.size() << " argument(s)\n";
    return 2;
  }
  auto credentials = LoadCredentials(os_options, environment.env);
  if (!credentials.ok()) {
    err << credentials.status().message() << "\n";
    return 1;
  }
  ComputeClient api(*credentials, debug ? &err : nullptr);
  Ctx ctx{api, parsed, output, out, err, environment};
  absl::Status s = command->run(ctx);
  if (!s.ok()) {
    err << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace shareplane::cli
