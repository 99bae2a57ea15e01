#include "cli/manage.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "cli/manage_ca.h"
#include "common/core/config.h"
#include "common/core/ids.h"
#include "common/core/options.h"
#include "common/openstack/openstack_settings.h"
#include "common/pg/pg_settings.h"
#include "common/pg/store.h"
#include "conductor/agent_client.h"
#include "conductor/host_address.h"
#include "conductor/workflow.h"

namespace shareplane {
namespace {

constexpr char kUsage[] =
    "usage: shareplane-manage [--config-file FILE] [--section.key=value ...] "
    "COMMAND\n"
    "commands:\n"
    "  db sync | db version\n"
    "  flavor create --name N [--id I] [--vcpus 1] [--ram 512] [--disk 0] "
    "[--property k=v]...\n"
    "  server create --name N --flavor F --host H --project P [--user U] "
    "[--state stopped|active]\n"
    "  host list\n"
    "  service list [--service-down-time 60]\n"
    "  host disable HOST | host enable HOST\n"
    "  host set-ip HOST ADDRESS   (moves its NFS access rules, no gap)\n"
    "  config sample shareplane|api|conductor|compute\n"
    "  ca init [--dir /etc/shareplane/pki] [--days 3650]\n"
    "  ca issue NAME [--dir D] [--days 825] [--ip ADDR]... [--dns NAME]...\n";

struct Parsed {
  std::vector<std::string> config_args{"shareplane-manage"};
  std::vector<std::string> words;
  std::multimap<std::string, std::string> opts;
};

// Config-style flags (--config-file, --x.y=z) before the command; command
// options (--name value) after it.
Parsed Parse(const std::vector<std::string>& args) {
  Parsed p;
  size_t i = 0;
  for (; i < args.size() && absl::StartsWith(args[i], "--"); ++i) {
    p.config_args.push_back(args[i]);
    if ((args[i] == "--config-file" || args[i] == "--config_file") &&
        i + 1 < args.size()) {
      p.config_args.push_back(args[++i]);
    }
  }
  for (; i < args.size(); ++i) {
    if (absl::StartsWith(args[i], "--")) {
      std::string key = args[i].substr(2);
      std::string value = i + 1 < args.size() ? args[++i] : "";
      p.opts.emplace(key, value);
    } else {
      p.words.push_back(args[i]);
    }
  }
  return p;
}

std::string Opt(const Parsed& p, const std::string& key,
                const std::string& fallback = "") {
  auto it = p.opts.find(key);
  return it == p.opts.end() ? fallback : it->second;
}

int Fail(std::ostream& err, const absl::Status& s) {
  err << "error: " << s.message() << "\n";
  return 1;
}

// What a command that needs the database runs with.
struct Manage {
  const Parsed& p;
  const Config& config;
  Database& db;
  std::ostream& out;
  std::ostream& err;
};

int UsageError(std::ostream& err, const absl::Status& s) {
  err << s.message() << "\n";
  return 2;
}

int ConfigSample(const Parsed& p, std::ostream& out, std::ostream& err) {
  const auto& files = SampleConfigFiles();
  const std::string file = p.words.size() > 2 ? p.words[2] : "";
  if (std::find(files.begin(), files.end(), file) == files.end()) {
    err << "config sample takes one of: " << absl::StrJoin(files, ", ") << "\n";
    return 2;
  }
  out << SampleConfig(file);
  return 0;
}

int DbSync(Manage& m) {
  auto v = MigrateSchema(m.db);
  if (!v.ok()) return Fail(m.err, v.status());
  m.out << "Database schema at version " << *v << "\n";
  return 0;
}

int DbVersion(Manage& m) {
  auto v = SchemaVersion(m.db);
  if (!v.ok()) return Fail(m.err, v.status());
  m.out << *v << "\n";
  return 0;
}

// flavor create's --name, --id, --vcpus, --ram, --disk and --property.
absl::StatusOr<Flavor> ParseFlavor(const Parsed& p) {
  Flavor f;
  f.name = Opt(p, "name");
  f.id = Opt(p, "id", f.name);
  if (f.name.empty()) {
    return absl::InvalidArgumentError("flavor create needs --name");
  }
  if (!absl::SimpleAtoi(Opt(p, "vcpus", "1"), &f.vcpus) ||
      !absl::SimpleAtoi(Opt(p, "ram", "512"), &f.ram_mb) ||
      !absl::SimpleAtoi(Opt(p, "disk", "0"), &f.disk_gb)) {
    return absl::InvalidArgumentError(
        "--vcpus, --ram and --disk take integers");
  }
  auto props = p.opts.equal_range("property");
  for (auto it = props.first; it != props.second; ++it) {
    size_t eq = it->second.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError("--property takes key=value");
    }
    f.extra_specs[it->second.substr(0, eq)] = it->second.substr(eq + 1);
  }
  return f;
}

int FlavorCreate(Manage& m) {
  auto f = ParseFlavor(m.p);
  if (!f.ok()) return UsageError(m.err, f.status());
  absl::Status s = m.db.Transact([&](pqxx::work& w) {
    InsertFlavor(w, *f);
    return absl::OkStatus();
  });
  if (!s.ok()) return Fail(m.err, s);
  m.out << f->id << "\n";
  return 0;
}

// server create's --name, --flavor, --host, --project, --user and --state.
absl::StatusOr<Server> ParseServer(const Parsed& p) {
  Server s;
  s.name = Opt(p, "name");
  s.flavor_id = Opt(p, "flavor");
  s.host = Opt(p, "host");
  s.project_id = Opt(p, "project");
  s.user_id = Opt(p, "user", s.project_id);
  s.vm_state = Opt(p, "state", "stopped");
  s.power_state = s.vm_state == "active" ? 1 : 4;
  if (s.name.empty() || s.flavor_id.empty() || s.host.empty() ||
      s.project_id.empty()) {
    return absl::InvalidArgumentError(
        "server create needs --name, --flavor, --host and --project");
  }
  return s;
}

int ServerCreate(Manage& m) {
  auto s = ParseServer(m.p);
  if (!s.ok()) return UsageError(m.err, s.status());
  s->uuid = NewUuid();
  absl::Status st = m.db.Transact([&](pqxx::work& w) {
    InsertServer(w, *s);
    return absl::OkStatus();
  });
  if (!st.ok()) return Fail(m.err, st);
  m.out << s->uuid << "\n";
  return 0;
}

absl::StatusOr<std::vector<ComputeHost>> ListHosts(Database& db) {
  std::vector<ComputeHost> hosts;
  absl::Status s = db.Transact([&](pqxx::work& w) {
    hosts = ListComputeHosts(w);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return hosts;
}

int HostList(Manage& m) {
  auto hosts = ListHosts(m.db);
  if (!hosts.ok()) return Fail(m.err, hosts.status());
  for (const auto& h : *hosts) {
    m.out << h.hostname << " " << h.storage_ip << " " << h.agent_endpoint
          << " libvirt=" << h.libvirt_version << " "
          << absl::StrJoin(h.traits, ",") << "\n";
  }
  return 0;
}

int ServiceList(Manage& m) {
  int down_after = m.config.GetInt("DEFAULT", "service_down_time", 60);
  if (!absl::SimpleAtoi(
          Opt(m.p, "service-down-time", std::to_string(down_after)),
          &down_after)) {
    m.err << "--service-down-time takes seconds\n";
    return 2;
  }
  auto hosts = ListHosts(m.db);
  if (!hosts.ok()) return Fail(m.err, hosts.status());
  m.out << "Binary             Host                 Status    State  Updated "
           "At\n";
  for (const auto& h : *hosts) {
    const bool up = IsHostUp(h, down_after);
    std::string host = h.hostname;
    host.resize(std::max<size_t>(host.size(), 20), ' ');
    m.out << "shareplane-compute " << host << " "
          << (h.disabled ? "disabled " : "enabled  ") << " "
          << (up ? "up   " : "down ") << "  " << h.updated_at << "\n";
  }
  return 0;
}

int HostSetIp(Manage& m) {
  const Parsed& p = m.p;
  if (p.words.size() != 4) {
    m.err << "host set-ip takes a host name and its new storage address\n";
    return 2;
  }
  // Manila as the conductor reaches it ([manila], [keystone_authtoken]).
  auto keystone = ManilaKeystoneFrom(m.config);
  ManilaClient manila(ManilaOptionsFrom(m.config, keystone.get()));
  AgentClient agents(std::chrono::seconds(1));  // not called
  WorkflowDeps deps{m.db, manila, *RealClock::Get(),
                    WorkflowOptionsFrom(m.config, keystone != nullptr), agents};
  absl::Status s = MoveHostAddress(deps, p.words[2], p.words[3], m.out);
  if (!s.ok()) return Fail(m.err, s);
  m.out << "Set [compute] storage_ip = " << p.words[3] << " on " << p.words[2]
        << " and restart its agent.\n";
  return 0;
}

// host disable HOST, host enable HOST.
int HostSetDisabled(Manage& m) {
  const Parsed& p = m.p;
  const std::string cmd = p.words[0] + " " + p.words[1];
  if (p.words.size() != 3) {
    m.err << cmd << " takes a host name\n";
    return 2;
  }
  bool known = false;
  absl::Status s = m.db.Transact([&](pqxx::work& w) {
    known = SetComputeHostDisabled(w, p.words[2], cmd == "host disable");
    return absl::OkStatus();
  });
  if (!s.ok()) return Fail(m.err, s);
  if (!known) {
    m.err << "error: Compute host " << p.words[2] << " could not be found.\n";
    return 1;
  }
  m.out << "Host " << p.words[2]
        << (cmd == "host disable" ? " disabled: it takes no new servers\n"
                                  : " enabled\n");
  return 0;
}

// The commands that use the database, by their first two words.
const std::map<std::string, int (*)(Manage&)>& DatabaseCommands() {
  static const auto* commands = new std::map<std::string, int (*)(Manage&)>{
      {"db sync", DbSync},
      {"db version", DbVersion},
      {"flavor create", FlavorCreate},
      {"server create", ServerCreate},
      {"host list", HostList},
      {"service list", ServiceList},
      {"host set-ip", HostSetIp},
      {"host disable", HostSetDisabled},
      {"host enable", HostSetDisabled},
  };
  return *commands;
}

}  // namespace

int RunManage(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err) {
  Parsed p = Parse(args);
  std::vector<char*> argv;
  for (auto& a : p.config_args) argv.push_back(a.data());
  auto config = Config::FromArgs(static_cast<int>(argv.size()), argv.data(),
                                 {"/etc/shareplane/shareplane.conf"});
  if (!config.ok()) return Fail(err, config.status());
  if (p.words.size() < 2) {
    err << kUsage;
    return 2;
  }
  const std::string cmd = p.words[0] + " " + p.words[1];
  if (p.words[0] == "ca") return RunCa(p.words, p.opts, out, err);
  if (cmd == "config sample") return ConfigSample(p, out, err);
  Database db(DatabaseOptionsFrom(*config));
  auto command = DatabaseCommands().find(cmd);
  if (command == DatabaseCommands().end()) {
    err << kUsage;
    return 2;
  }
  Manage m{p, *config, db, out, err};
  return command->second(m);
}

}  // namespace shareplane
