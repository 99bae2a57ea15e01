#include "tests/chaos/invariants.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/pg/store.h"

namespace shareplane::testing {

using json = nlohmann::json;

void CheckInvariants(Stack& stack, const std::vector<std::string>& host_names,
                     const std::vector<std::string>& shares,
                     const std::vector<Accepted>& accepted,
                     std::vector<std::string>& v) {
  std::vector<Server> servers;
  std::map<std::string, std::vector<ShareMapping>> mappings;
  std::map<std::string, std::string> storage_ip;  // host -> ip
  absl::Status s = stack.db().Transact([&](pqxx::work& w) {
    servers = ListServers(w, "");
    for (const Server& sv : servers) {
      mappings[sv.uuid] = ListShareMappings(w, sv.uuid);
    }
    for (const ComputeHost& h : ListComputeHosts(w)) {
      storage_ip[h.hostname] = h.storage_ip;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    v.push_back(absl::StrCat("database: ", s.message()));
    return;
  }
  std::map<std::string, agent::v1::HostState> hosts;
  for (const auto& h : host_names) {
    try {
      hosts[h] = stack.HostState(h);
    } catch (const std::exception& e) {
      v.push_back(e.what());
      return;
    }
  }
  std::map<std::string, const Server*> by_uuid;
  for (const Server& sv : servers) by_uuid[sv.uuid] = &sv;
  // I1, I5 (server side)
  std::map<std::string, std::map<std::string, std::string>> domains;
  std::map<std::string, std::map<std::string, int>> mounts_of;
  for (const auto& [h, st] : hosts) {
    for (const auto& d : st.domains()) {
      domains[h][d.server_uuid()] = d.domain_state();
    }
    for (const auto& m : st.mounts()) {
      // I4
      if (m.server_uuids().empty()) {
        v.push_back(absl::StrCat("I4 mount ", m.mount_point(), " on ", h,
                                 " has no user"));
      }
      for (const auto& u : m.server_uuids()) {
        ++mounts_of[h][u];
        auto it = by_uuid.find(u);
        if (it == by_uuid.end() || it->second->host != h ||
            !domains[h].count(u) || domains[h][u] != "running") {
          v.push_back(absl::StrCat("I4 mount ", m.mount_point(), " on ", h,
                                   " used by ", u,
                                   ", which does not run there"));
        }
      }
    }
  }
  for (const Server& sv : servers) {
    const std::string dom =
        domains[sv.host].count(sv.uuid) ? domains[sv.host][sv.uuid] : "absent";
    if (sv.vm_state == "active" && dom != "running") {
      v.push_back(absl::StrCat("I5 server ", sv.uuid,
                               " ACTIVE but its domain on ", sv.host, " is ",
                               dom));
    }
    int active = 0;
    std::set<std::string> active_exports;
    for (const ShareMapping& m : mappings[sv.uuid]) {
      if (m.status != "inactive" && m.status != "active" &&
          m.status != "error") {
        v.push_back(absl::StrCat("I1 mapping ", m.uuid, " is ", m.status));
      }
      if (m.status == "active") {
        ++active;
        active_exports.insert(m.export_location);
        // An ERROR server may still run (a delete or reboot that could not
        // reach its agent, as in Nova); its shares are active while its
        // domain runs with them mounted (checked below).
        if (sv.vm_state != "active" &&
            !(sv.vm_state == "error" && dom == "running")) {
          v.push_back(absl::StrCat("I1 mapping ", m.uuid,
                                   " active on a server in ", sv.vm_state,
                                   " whose domain is ", dom));
        }
      }
    }
    if ((sv.vm_state == "active" || sv.vm_state == "error") &&
        mounts_of[sv.host][sv.uuid] < static_cast<int>(active_exports.size())) {
      v.push_back(absl::StrCat("I5 server ", sv.uuid, " has ", active,
                               " active shares but ",
                               mounts_of[sv.host][sv.uuid], " mounts"));
    }
  }
  for (const auto& [h, ds] : domains) {
    for (const auto& [u, st] : ds) {
      // An ERROR server's domain may run (a hard reboot sorts it out);
      // a SHUTOFF, deleted or elsewhere placed one must not.
      auto it = by_uuid.find(u);
      if (st == "running" && (it == by_uuid.end() || it->second->host != h ||
                              it->second->vm_state == "stopped")) {
        v.push_back(absl::StrCat("I5 domain of ", u, " runs on ", h,
                                 " but the server is not running there"));
      }
    }
  }
  // I2, I3
  std::set<std::string> rule_ids;
  for (const std::string& share : shares) {
    json rules;
    try {
      rules = stack.ManilaRules(share);
    } catch (const std::exception& e) {
      v.push_back(absl::StrCat("Manila: ", e.what()));
      return;
    }
    std::map<std::string, std::string> rule_state;  // ip -> state
    for (const auto& r : rules) {
      rule_state[r.value("access_to", "")] = r.value("state", "");
      rule_ids.insert(r.value("id", ""));
    }
    std::set<std::string> needed, allowed;
    for (const Server& sv : servers) {
      for (const ShareMapping& m : mappings[sv.uuid]) {
        if (m.share_id != share) continue;
        allowed.insert(storage_ip[sv.host]);
        if (m.status != "error") needed.insert(storage_ip[sv.host]);
      }
    }
    for (const std::string& ip : needed) {
      if (rule_state[ip] != "active") {
        v.push_back(absl::StrCat("I2 share ", share, " has no active rule for ",
                                 ip, " (", rule_state[ip], ")"));
      }
    }
    for (const auto& [ip, st] : rule_state) {
      if (!allowed.count(ip)) {
        v.push_back(absl::StrCat("I3 share ", share, " has a rule for ", ip,
                                 " (", st, ") no mapping uses"));
      }
    }
  }
  HttpResponse locks = stack.ManilaAdmin("GET", "/resource-locks");
  if (locks.status != 200) {
    v.push_back("Manila lock list: " + locks.body);
  } else {
    for (const auto& l : json::parse(locks.body)["resource_locks"]) {
      if (l.value("resource_type", "") == "access_rule" &&
          !rule_ids.count(l.value("resource_id", ""))) {
        v.push_back(absl::StrCat("I3 lock ", l.value("id", ""), " on rule ",
                                 l.value("resource_id", ""),
                                 ", which no longer exists"));
      }
    }
  }
  // I6
  std::set<std::pair<std::string, std::string>> ended;
  (void)stack.db().Transact([&](pqxx::work& w) {
    for (const auto& row :
         w.exec("SELECT DISTINCT a.server_uuid::text, a.request_id FROM "
                "instance_actions a JOIN instance_action_events e ON "
                "e.action_id = a.id")) {
      ended.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    }
    return absl::OkStatus();
  });
  for (const Accepted& a : accepted) {
    if (!ended.count({a.server, a.request_id})) {
      v.push_back(absl::StrCat("I6 accepted ", a.op, " ", a.request_id, " on ",
                               a.server, " has no event"));
    }
  }
}

}  // namespace shareplane::testing
