// The Manila emulator's state and request handlers, shared by its files:
// emulator.cc (shares, rule transitions, routing, injected faults, the
// state file), access_rules.cc (allow, deny and update access, share
// actions, /share-access-rules) and
// resource_locks.cc (locks and /resource-locks). Internal to
// tests/manila-emulator.
#ifndef SHAREPLANE_TESTS_MANILA_EMULATOR_EMULATOR_STATE_H_
#define SHAREPLANE_TESTS_MANILA_EMULATOR_EMULATOR_STATE_H_

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/core/clock.h"
#include "common/http/http.h"
#include "tests/manila-emulator/emulator.h"
#include "tests/manila-emulator/model.h"

namespace shareplane {
namespace manila_emulator {

// Faults injected through the admin-only control endpoint; none by default.
struct Faults {
  int latency_ms = 0;
  int fail_next = 0;  // answer the next N API calls with fail_status
  int fail_status = 503;
  std::string rules = "normal";  // normal | stuck (stay applying) | error
};

// A JSON response, and a Manila fault ({"itemNotFound": {"code": 404, ...}}).
HttpResponse Json(int status, const nlohmann::json& body);
HttpResponse Fault(int code, const std::string& message);
// The current time as Manila shows it.
std::string NowIso();

// Who may lift (or see through) a lock: service locks need a service token,
// admin locks an admin or service, user locks their user or an admin.
bool CanManage(const Lock& l, const Caller& c);

}  // namespace manila_emulator

struct ManilaEmulator::State {
  ManilaEmulatorOptions options;
  std::mutex mu;
  std::map<std::string, manila_emulator::Share> shares;
  std::map<std::string, manila_emulator::Lock> locks;
  // Shares with a rule in transition: the only ones Advance looks at.
  std::set<std::string> moving;
  manila_emulator::Faults faults;
  StopSignal stop;
  std::thread worker;

  // Shares, rule transitions, routing and the state file (emulator.cc).
  // Moves rules along queued_to_apply -> applying -> active and
  // queued_to_deny -> denying -> gone when their time is due.
  void Advance();
  nlohmann::json ShareJson(const manila_emulator::Share& s) const;
  manila_emulator::Share* Find(const std::string& id,
                               const manila_emulator::Caller& c);
  HttpResponse CreateShare(const nlohmann::json& body,
                           const manila_emulator::Caller& c);
  HttpResponse Route(const HttpRequest& req, const manila_emulator::Caller& c,
                     std::vector<std::string> parts);
  void Save();

  // Access rules (access_rules.cc).
  nlohmann::json RuleJson(const manila_emulator::Rule& r,
                          const manila_emulator::Caller& c) const;
  HttpResponse AllowAccess(manila_emulator::Share& s, const nlohmann::json& a,
                           const manila_emulator::Caller& c);
  HttpResponse DenyAccess(manila_emulator::Share& s, const nlohmann::json& d,
                          const manila_emulator::Caller& c);
  HttpResponse Action(manila_emulator::Share& s, const nlohmann::json& body,
                      const manila_emulator::Caller& c);
  // The rule `id` and its share, when the caller may see the share.
  std::pair<manila_emulator::Share*, manila_emulator::Rule*> FindRule(
      const std::string& id, const manila_emulator::Caller& c);
  // PUT /v2/share-access-rules/{id} {"update_access": {"access_level"}}
  // (2.88+): an active rule goes back through queued_to_apply with the new
  // level.
  HttpResponse UpdateAccessLevel(const std::string& id,
                                 const nlohmann::json& body,
                                 const manila_emulator::Caller& c);
  // /v2/share-access-rules: the list (2.45+) and the update (2.88+).
  HttpResponse AccessRules(const HttpRequest& req, const nlohmann::json& body,
                           const manila_emulator::Caller& c,
                           const std::vector<std::string>& parts);

  // Resource locks (resource_locks.cc).
  std::vector<const manila_emulator::Lock*> LocksOn(
      const std::string& resource_id, const std::string& action) const;
  // True when a lock of `action` on the resource is one `c` cannot lift.
  bool LockedFor(const std::string& resource_id, const std::string& action,
                 const manila_emulator::Caller& c) const;
  manila_emulator::Lock& AddLock(const manila_emulator::Caller& c,
                                 const std::string& project_id,
                                 const std::string& type,
                                 const std::string& resource_id,
                                 const std::string& action,
                                 const std::string& reason);
  // Drops the locks an access rule carries, with the share lock each of its
  // delete locks placed.
  void RemoveRuleLocks(const std::string& rule_id);
  // /v2/resource-locks[/{id}] (2.81+).
  HttpResponse ResourceLocks(const HttpRequest& req, const nlohmann::json& body,
                             const manila_emulator::Caller& c,
                             const std::vector<std::string>& parts);
};

}  // namespace shareplane

#endif  // SHAREPLANE_TESTS_MANILA_EMULATOR_EMULATOR_STATE_H_
