#include <nlohmann/json.hpp>

#include "tests/manila-emulator/model.h"

namespace shareplane::manila_emulator {

using json = nlohmann::json;

json LockJson(const Lock& l) {
  return {
      {"id", l.id},
      {"user_id", l.user_id},
      {"project_id", l.project_id},
      {"lock_context", l.lock_context},
      {"resource_type", l.resource_type},
      {"resource_id", l.resource_id},
      {"resource_action", l.resource_action},
      {"lock_reason", l.lock_reason},
      {"created_at", l.created_at},
      {"updated_at", l.updated_at.empty() ? json(nullptr) : json(l.updated_at)},
      {"links", json::array()}};
}

json DumpState(const std::map<std::string, Share>& shares,
               const std::map<std::string, Lock>& locks) {
  json out = {{"shares", json::array()}, {"locks", json::array()}};
  for (const auto& [id, s] : shares) {
    json j = {{"id", s.id},
              {"name", s.name},
              {"project_id", s.project_id},
              {"proto", s.proto},
              {"status", s.status},
              {"size", s.size},
              {"created_at", s.created_at},
              {"locations", json::array()},
              {"rules", json::array()}};
    for (const auto& l : s.locations) {
      j["locations"].push_back({{"id", l.id},
                                {"path", l.path},
                                {"preferred", l.preferred},
                                {"admin_only", l.admin_only}});
    }
    for (const auto& r : s.rules) {
      j["rules"].push_back({{"id", r.id},
                            {"access_type", r.access_type},
                            {"access_to", r.access_to},
                            {"access_level", r.access_level},
                            {"state", r.state},
                            {"access_key", r.access_key},
                            {"created_at", r.created_at},
                            {"updated_at", r.updated_at}});
    }
    out["shares"].push_back(j);
  }
  for (const auto& [id, l] : locks) out["locks"].push_back(LockJson(l));
  return out;
}

void LoadState(const json& in, TimePoint now,
               std::map<std::string, Share>& shares,
               std::map<std::string, Lock>& locks,
               std::set<std::string>& moving) {
  for (const json& j : in.value("shares", json::array())) {
    Share s;
    s.id = j.value("id", "");
    s.name = j.value("name", "");
    s.project_id = j.value("project_id", "");
    s.proto = j.value("proto", "");
    s.status = j.value("status", "");
    s.size = j.value("size", 1);
    s.created_at = j.value("created_at", "");
    for (const json& l : j.value("locations", json::array())) {
      s.locations.push_back({l.value("id", ""), l.value("path", ""),
                             l.value("preferred", false),
                             l.value("admin_only", false)});
    }
    for (const json& r : j.value("rules", json::array())) {
      Rule rule;
      rule.id = r.value("id", "");
      rule.access_type = r.value("access_type", "");
      rule.access_to = r.value("access_to", "");
      rule.access_level = r.value("access_level", "");
      rule.state = r.value("state", "");
      rule.access_key = r.value("access_key", "");
      rule.created_at = r.value("created_at", "");
      rule.updated_at = r.value("updated_at", "");
      rule.due = now;  // transitions resume where they stopped
      s.rules.push_back(std::move(rule));
      moving.insert(s.id);
    }
    shares[s.id] = std::move(s);
  }
  for (const json& j : in.value("locks", json::array())) {
    Lock l;
    l.id = j.value("id", "");
    l.user_id = j.value("user_id", "");
    l.project_id = j.value("project_id", "");
    l.lock_context = j.value("lock_context", "");
    l.resource_type = j.value("resource_type", "");
    l.resource_id = j.value("resource_id", "");
    l.resource_action = j.value("resource_action", "");
    l.lock_reason = j.value("lock_reason", "");
    l.created_at = j.value("created_at", "");
    l.updated_at = j["updated_at"].is_string() ? j.value("updated_at", "") : "";
    locks[l.id] = std::move(l);
  }
}

}  // namespace shareplane::manila_emulator
