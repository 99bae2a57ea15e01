// The chaos campaign: the whole stack as processes (the Manila emulator, two
// API instances, a conductor, three compute agents on libvirt's test
// driver) under a mixed workload of attach, detach, start, stop, reboot,
// create and delete over tens of servers, while one fault at a time, then
// several at once, is injected. After each phase the faults are healed and
// the invariants (tests/chaos/invariants.h) are checked against the
// database, Manila and the hosts until they hold or a deadline passes.
//
//   shareplane-chaos [--phase-seconds N] [--servers N] [--seed N]
//                    [--table FILE]
//
// Prints one table row per phase (fault, operations accepted, refused,
// invariant violations) and exits 1 when any phase has a violation. Needs
// the test services (tests/support/services start DIR; SHAREPLANE_TEST_ENV
// names DIR/env). It restarts RabbitMQ and PostgreSQL: run it alone.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/pg/store.h"
#include "tests/chaos/invariants.h"
#include "tests/support/stack.h"

namespace shareplane::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kHosts = {"hv1", "hv2", "hv3"};

struct Options {
  int phase_seconds = 6;
  int servers = 24;
  int shares = 10;
  int clients = 4;
  unsigned seed = 20261201;
  std::string table;
};

struct PhaseCount {
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};  // 4xx, 5xx, or no answer (a killed API)
};

class Campaign {
 public:
  explicit Campaign(const Options& o)
      : options_(o),
        stack_(
            "[conductor]\n"
            "host_audit_interval = 2\nhost_audit_timeout = 3\n"
            "reconcile_interval = 2\nreconcile_stale_after = 15\n"
            "agent_timeout = 10\nagent_retry_timeout = 8\n"
            "task_retry_delay_ms = 200\nmax_task_failures = 30\n"
            "[compute]\nshutdown_timeout = 2\n"
            "[manila]\naccess_rule_timeout = 8\n"),
        rng_(o.seed) {}

  int Run() {
    Start();
    std::vector<std::pair<std::string, std::function<void()>>> phases = {
        {"none", [] {}},
        {"SIGKILL conductor",
         [&] {
           stack_.KillConductor();
           stack_.StartConductor();
         }},
        {"SIGKILL one of two APIs",
         [&] {
           stack_.KillApi(1);
           Sleep(1000);
           stack_.StartApi(1);
         }},
        {"SIGKILL agent (host loses its guests)",
         [&] {
           stack_.KillCompute("hv2");
           stack_.StartCompute("hv2");
         }},
        {"RabbitMQ restart", [] { TestServices::Get().RestartRabbitMq(); }},
        {"PostgreSQL restart", [] { TestServices::Get().RestartPostgres(); }},
        {"Manila 5xx burst",
         [&] { Faults(R"({"fail_next": 25, "fail_status": 503})"); }},
        {"Manila latency spike (1.5 s)",
         [&] {
           Faults(R"({"latency_ms": 1500})");
           Sleep(options_.phase_seconds * 500);
           Faults(R"({"latency_ms": 0})");
         }},
        {"stuck rules",
         [&] {
           Faults(R"({"rules": "stuck"})");
           Sleep(options_.phase_seconds * 500);
           Faults(R"({"rules": "normal"})");
         }},
        {"guest that ignores ACPI (12 s stop)",
         [&] {
           stack_.StopCompute("hv3");
           stack_.StartCompute("hv3", "stop.guest_shutting_down");
           // Held past the conductor's agent_timeout (10 s).
           if (stack_.WaitPaused("stop.guest_shutting_down")) Sleep(12000);
           stack_.Resume("stop.guest_shutting_down");
         }},
        {"agent stalls (SIGSTOP 12 s)",
         [&] {
           stack_.SuspendCompute("hv1");
           Sleep(12000);
           stack_.ResumeCompute("hv1");
         }},
        {"combined: conductor and agent SIGKILL, Manila 5xx",
         [&] {
           Faults(R"({"fail_next": 15, "fail_status": 500})");
           stack_.KillConductor();
           stack_.KillCompute("hv3");
           Sleep(500);
           stack_.StartCompute("hv3");
           stack_.StartConductor();
         }},
    };
    Row("fault", "operations", "refused", "violations", "settled in");
    int failed = 0;
    for (auto& [name, inject] : phases) {
      const int v = Phase(name, inject);
      if (v != 0) ++failed;
    }
    if (!options_.table.empty()) std::ofstream(options_.table) << table_.str();
    return failed == 0 ? 0 : 1;
  }

 private:
  void Start() {
    stack_.StartEmulator(30);
    stack_.StartConductor();
    for (const auto& h : kHosts) stack_.StartCompute(h);
    stack_.StartApi(0);
    stack_.StartApi(1);
    HttpResponse f =
        stack_.Api("POST", "/v2.1/flavors",
                   R"({"flavor": {"name": "m1.tiny", "ram": 64, "vcpus": 1,
                       "disk": 1}})",
                   "admin:admin");
    if (f.status != 200) throw std::runtime_error("flavor: " + f.body);
    for (int i = 0; i < options_.shares; ++i) {
      shares_.push_back(stack_.CreateShare());
    }
    for (int i = 0; i < options_.servers; ++i) CreateServer(nullptr);
    if (!Settle(Clock::now() + std::chrono::seconds(120))) {
      throw std::runtime_error("the servers did not settle:\n" + stack_.Logs());
    }
  }

  // Kept sleeps, all of them the campaign's timeline rather than waits for
  // a state: how long a fault lasts (an API down for a second, an agent
  // stopped for 12 s, a latency spike for half a phase), when in a phase it
  // strikes, the clients' think time, and the period of the polls in
  // Settle and of the invariants' re-checks (each check is many calls).
  static void Sleep(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  void Faults(const std::string& body) {
    (void)stack_.ManilaAdmin("POST", "/_emulator/faults", body);
  }

  unsigned Random(unsigned n) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::uniform_int_distribution<unsigned>(0, n - 1)(rng_);
  }

  // A request through either API instance; a killed one gives no answer
  // (status 0).
  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    try {
      return stack_.ApiAt(static_cast<int>(Random(2)), method, path, body);
    } catch (const std::exception&) {
      return HttpResponse{0, {}, ""};
    }
  }

  void Count(PhaseCount* count, const HttpResponse& r,
             const std::string& server, const std::string& op) {
    if (r.status >= 200 && r.status < 300) {
      if (count) ++count->accepted;
      std::lock_guard<std::mutex> lock(mu_);
      accepted_.push_back({server, r.Header("x-openstack-request-id"), op});
    } else if (count) {
      ++count->refused;
    }
  }

  void CreateServer(PhaseCount* count) {
    HttpResponse r = Call("POST", "/v2.1/servers",
                          json{{"server",
                                {{"name", absl::StrCat("chaos-", ++created_)},
                                 {"flavorRef", "m1.tiny"},
                                 {"networks", "none"}}}}
                              .dump());
    std::string id;
    if (r.status == 202) {
      id = json::parse(r.body)["server"]["id"];
      std::lock_guard<std::mutex> lock(mu_);
      servers_.push_back(id);
    }
    Count(count, r, id, "create");
  }

  std::string AnyServer() {
    std::lock_guard<std::mutex> lock(mu_);
    if (servers_.empty()) return "";
    return servers_[std::uniform_int_distribution<size_t>(
        0, servers_.size() - 1)(rng_)];
  }

  void OneOperation(PhaseCount& count) {
    const std::string server = AnyServer();
    if (server.empty()) return;
    const std::string base = "/v2.1/servers/" + server;
    const unsigned dice = Random(100);
    if (dice < 30) {
      const std::string share = shares_[Random(shares_.size())];
      Count(&count,
            Call("POST", base + "/shares",
                 json{{"share", {{"share_id", share}}}}.dump()),
            server, "attach");
    } else if (dice < 48) {
      HttpResponse list = Call("GET", base + "/shares");
      if (list.status != 200) {
        ++count.refused;
        return;
      }
      json shares = json::parse(list.body)["shares"];
      if (shares.empty()) return;
      const std::string share = shares[Random(shares.size())]["share_id"];
      Count(&count, Call("DELETE", base + "/shares/" + share), server,
            "detach");
    } else if (dice < 63) {
      Count(&count, Call("POST", base + "/action", R"({"os-start": null})"),
            server, "start");
    } else if (dice < 78) {
      Count(&count, Call("POST", base + "/action", R"({"os-stop": null})"),
            server, "stop");
    } else if (dice < 90) {
      Count(&count,
            Call("POST", base + "/action",
                 Random(2) ? R"({"reboot": {"type": "HARD"}})"
                           : R"({"reboot": {"type": "SOFT"}})"),
            server, "reboot");
    } else {
      HttpResponse d = Call("DELETE", base);
      Count(&count, d, server, "delete");
      if (d.status == 204) {
        bool mine = false;  // another client may have deleted it too
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = std::find(servers_.begin(), servers_.end(), server);
          if (it != servers_.end()) {
            servers_.erase(it);
            mine = true;
          }
        }
        if (mine) CreateServer(&count);
      }
    }
  }

  int Phase(const std::string& name, const std::function<void()>& inject) {
    PhaseCount count;
    {
      // I6 looks at this phase's requests (the last phase settled).
      std::lock_guard<std::mutex> lock(mu_);
      accepted_.clear();
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < options_.clients; ++i) {
      // Each client thinks 20-80 ms between requests, as users and
      // tools do; without it a few clients queue more work per second than
      // two cores can finish.
      clients.emplace_back([&] {
        while (!stop) {
          OneOperation(count);
          Sleep(20 + static_cast<int>(Random(60)));
        }
      });
    }
    const auto start = Clock::now();
    Sleep(options_.phase_seconds * 300);
    try {
      inject();
    } catch (const std::exception& e) {
      std::cerr << "chaos: injecting '" << name << "': " << e.what() << "\n";
    }
    // Kept: the phase lasts phase_seconds whatever happens in it.
    std::this_thread::sleep_until(start +
                                  std::chrono::seconds(options_.phase_seconds));
    stop = true;
    for (auto& t : clients) t.join();
    // Heal whatever is left and let the system finish what it accepted.
    Faults(R"({"latency_ms": 0, "fail_next": 0, "rules": "normal"})");
    const auto healed = Clock::now();
    std::vector<std::string> violations;
    const auto deadline = healed + std::chrono::seconds(120);
    while (true) {
      violations.clear();
      if (!Settle(deadline)) {
        violations.push_back("not settled by the deadline: " + Busy());
      }
      std::vector<Accepted> accepted;
      {
        std::lock_guard<std::mutex> lock(mu_);
        accepted = accepted_;
      }
      CheckInvariants(stack_, kHosts, shares_, accepted, violations);
      if (violations.empty() || Clock::now() > deadline) break;
      Sleep(1000);
    }
    const auto settled =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - healed)
            .count();
    Row(name, std::to_string(count.accepted), std::to_string(count.refused),
        std::to_string(violations.size()), absl::StrCat(settled, " s"));
    for (const auto& v : violations) {
      std::cerr << "  violation: " << v << "\n";
      std::cout << "  violation: " << v << "\n";
      table_ << "  violation: " << v << "\n";
    }
    if (!violations.empty()) {
      std::ofstream("chaos-logs.txt", std::ios::app) << "==== " << name << "\n"
                                                     << stack_.Logs();
    }
    return static_cast<int>(violations.size());
  }

  void Row(const std::string& a, const std::string& b, const std::string& c,
           const std::string& d, const std::string& e) {
    const std::string line =
        absl::StrCat("| ", a, " | ", b, " | ", c, " | ", d, " | ", e, " |\n");
    std::cout << line << std::flush;
    table_ << line;
  }

  // What keeps the system from settling, for the report.
  std::string Busy() {
    std::vector<std::string> out;
    (void)stack_.db().Transact([&](pqxx::work& w) {
      for (const auto& row :
           w.exec("SELECT uuid::text, task_state FROM servers WHERE deleted_at "
                  "IS NULL AND task_state IS NOT NULL LIMIT 5")) {
        out.push_back(absl::StrCat("server ", row[0].as<std::string>(), " ",
                                   row[1].as<std::string>()));
      }
      for (const auto& row : w.exec(
               "SELECT uuid::text, status FROM share_mappings WHERE status IN "
               "('attaching', 'detaching') LIMIT 5")) {
        out.push_back(absl::StrCat("mapping ", row[0].as<std::string>(), " ",
                                   row[1].as<std::string>()));
      }
      return absl::OkStatus();
    });
    return absl::StrJoin(out, ", ");
  }

  // No server with a task and no mapping attaching or detaching.
  bool Settle(Clock::time_point deadline) {
    while (true) {
      int busy = -1;
      (void)stack_.db().Transact([&](pqxx::work& w) {
        busy = w.exec(
                    "SELECT (SELECT count(*) FROM servers WHERE deleted_at IS "
                    "NULL AND task_state IS NOT NULL) + (SELECT count(*) FROM "
                    "share_mappings WHERE status IN ('attaching', "
                    "'detaching'))")[0][0]
                   .as<int>();
        return absl::OkStatus();
      });
      if (busy == 0) return true;
      if (Clock::now() >= deadline) return false;
      Sleep(200);
    }
  }

  Options options_;
  Stack stack_;
  std::mutex mu_;
  std::mt19937 rng_;
  std::vector<std::string> shares_;
  std::vector<std::string> servers_;
  std::vector<Accepted> accepted_;
  std::atomic<int> created_{0};
  std::ostringstream table_;
};

}  // namespace
}  // namespace shareplane::testing

int main(int argc, char** argv) {
  shareplane::testing::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--phase-seconds")
      o.phase_seconds = std::stoi(value);
    else if (flag == "--servers")
      o.servers = std::stoi(value);
    else if (flag == "--seed")
      o.seed = static_cast<unsigned>(std::stoul(value));
    else if (flag == "--table")
      o.table = value;
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  try {
    shareplane::testing::Campaign campaign(o);
    return campaign.Run();
  } catch (const std::exception& e) {
    std::cerr << "chaos: " << e.what() << "\n";
    return 1;
  }
}
