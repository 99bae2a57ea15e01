// The Manila emulator's data model, its JSON state file and its caller
// authentication, shared by the files of the emulator (emulator.cc,
// access_rules.cc and resource_locks.cc serve the routes). Internal to
// tests/manila-emulator.
#ifndef SHAREPLANE_TESTS_MANILA_EMULATOR_MODEL_H_
#define SHAREPLANE_TESTS_MANILA_EMULATOR_MODEL_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/http/http.h"

namespace shareplane::manila_emulator {

// Who makes a request, as the emulator's auth decided.
struct Caller {
  std::string user;
  std::string project;
  bool admin = false;
  // Sent an X-Service-Token: may see and remove service locks.
  bool service = false;
  int minor = 0;  // requested microversion 2.<minor>
  // Manila's lock_context for locks this caller creates.
  std::string LockContext() const {
    return service ? "service" : admin ? "admin" : "user";
  }
};

// A resource lock (Manila 2.81): `delete` locks protect shares and access
// rules from deletion, `show` locks hide a rule's access_to and access_key.
struct Lock {
  std::string id;
  std::string user_id;
  std::string project_id;
  std::string lock_context;
  std::string resource_type;  // share | access_rule
  std::string resource_id;
  std::string resource_action;  // delete | show
  std::string lock_reason;
  std::string created_at;
  std::string updated_at;
};

struct Rule {
  std::string id;
  std::string access_type;
  std::string access_to;
  std::string access_level;
  std::string state;
  std::string access_key;
  std::string created_at;
  std::string updated_at;
  TimePoint due;  // when the current transition completes
};

struct ExportLocation {
  std::string id;
  std::string path;
  bool preferred = false;
  bool admin_only = false;
};

struct Share {
  std::string id;
  std::string name;
  std::string project_id;
  std::string proto;
  std::string status = "available";
  int size = 1;
  std::string created_at;
  std::vector<ExportLocation> locations;
  std::vector<Rule> rules;
};

// A lock as Manila's API shows it.
nlohmann::json LockJson(const Lock& l);

// The whole state as one JSON document (the --state_file), and back.
// Loaded rules resume their transitions at `now`; shares with such rules
// are added to `moving`.
nlohmann::json DumpState(const std::map<std::string, Share>& shares,
                         const std::map<std::string, Lock>& locks);
void LoadState(const nlohmann::json& in, TimePoint now,
               std::map<std::string, Share>& shares,
               std::map<std::string, Lock>& locks,
               std::set<std::string>& moving);

// Who sends the request: noauth "user:project" tokens when `keystone_url`
// is empty, else both tokens validated with Keystone. nullopt: 401.
std::optional<Caller> AuthenticateCaller(const HttpRequest& req,
                                         const std::string& keystone_url);

}  // namespace shareplane::manila_emulator

#endif  // SHAREPLANE_TESTS_MANILA_EMULATOR_MODEL_H_
