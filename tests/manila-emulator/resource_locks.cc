// Resource locks (Manila 2.81): who may lift them, the locks an access
// rule carries, and the /resource-locks routes (part of the Manila
// emulator, emulator.h).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/core/ids.h"
#include "tests/manila-emulator/emulator_state.h"

namespace shareplane {

using namespace manila_emulator;

namespace {

using json = nlohmann::json;

}  // namespace

namespace manila_emulator {

// Who may lift (or see through) a lock: service locks need a service token,
// admin locks an admin or service, user locks their user or an admin.
bool CanManage(const Lock& l, const Caller& c) {
  if (l.lock_context == "service") return c.service;
  if (l.lock_context == "admin") return c.admin || c.service;
  return c.user == l.user_id || c.admin || c.service;
}

}  // namespace manila_emulator

std::vector<const Lock*> ManilaEmulator::State::LocksOn(
    const std::string& resource_id, const std::string& action) const {
  std::vector<const Lock*> out;
  for (const auto& [id, l] : locks) {
    if (l.resource_id == resource_id && l.resource_action == action) {
      out.push_back(&l);
    }
  }
  return out;
}

bool ManilaEmulator::State::LockedFor(const std::string& resource_id,
                                      const std::string& action,
                                      const Caller& c) const {
  for (const Lock* l : LocksOn(resource_id, action)) {
    if (!CanManage(*l, c)) return true;
  }
  return false;
}

Lock& ManilaEmulator::State::AddLock(const Caller& c,
                                     const std::string& project_id,
                                     const std::string& type,
                                     const std::string& resource_id,
                                     const std::string& action,
                                     const std::string& reason) {
  Lock l;
  l.id = NewUuid();
  l.user_id = c.user;
  l.project_id = project_id;
  l.lock_context = c.LockContext();
  l.resource_type = type;
  l.resource_id = resource_id;
  l.resource_action = action;
  l.lock_reason = reason;
  l.created_at = NowIso();
  Lock& stored = locks[l.id];
  stored = std::move(l);
  return stored;
}

void ManilaEmulator::State::RemoveRuleLocks(const std::string& rule_id) {
  std::vector<std::string> ids;
  for (const auto& [id, l] : locks) {
    if (l.resource_id == rule_id) ids.push_back(id);
  }
  for (const std::string& id : ids) {
    const std::string reason = "Locked by access lock: " + id;
    for (auto it = locks.begin(); it != locks.end();) {
      it = it->second.lock_reason == reason ? locks.erase(it) : std::next(it);
    }
    locks.erase(id);
  }
}

HttpResponse ManilaEmulator::State::ResourceLocks(
    const HttpRequest& req, const json& body, const Caller& c,
    const std::vector<std::string>& parts) {
  const std::string& m = req.method;
  if (parts.size() == 1 && m == "GET") {
    auto q = ParseQuery(req.query);
    json list = json::array();
    for (const auto& [id, l] : locks) {
      if (!c.admin && l.project_id != c.project) continue;
      bool match = true;
      for (const char* key : {"resource_id", "resource_type", "resource_action",
                              "lock_context", "user_id", "project_id"}) {
        auto it = q.find(key);
        if (it != q.end() && LockJson(l)[key] != it->second) match = false;
      }
      if (match) list.push_back(LockJson(l));
    }
    return Json(200, {{"resource_locks", list}});
  }
  if (parts.size() == 1 && m == "POST") {
    if (!body.contains("resource_lock") || !body["resource_lock"].is_object()) {
      return Fault(400, "Missing 'resource_lock' in request body.");
    }
    const json& in = body["resource_lock"];
    const std::string type = in.value("resource_type", "share");
    const std::string action = in.value("resource_action", "delete");
    if (type != "share") {
      return Fault(400, "Resource type '" + type + "' cannot be locked.");
    }
    if (action != "delete") {
      return Fault(400, "Resource action '" + action + "' is invalid.");
    }
    Share* s = Find(in.value("resource_id", ""), c);
    if (s == nullptr) {
      return Fault(404, absl::StrCat("Share ", in.value("resource_id", ""),
                                     " could not be found."));
    }
    Lock& l = AddLock(c, s->project_id, type, s->id, action,
                      in.value("lock_reason", ""));
    return Json(200, {{"resource_lock", LockJson(l)}});
  }
  if (parts.size() != 2) return Fault(404, "The resource could not be found.");
  auto it = locks.find(parts[1]);
  if (it == locks.end() || (!c.admin && it->second.project_id != c.project)) {
    return Fault(
        404, absl::StrCat("Resource lock ", parts[1], " could not be found."));
  }
  Lock& l = it->second;
  if (m == "GET") return Json(200, {{"resource_lock", LockJson(l)}});
  if (!CanManage(l, c)) {
    return Fault(403, absl::StrCat("Resource lock ", l.id,
                                   " cannot be modified by this user."));
  }
  if (m == "PUT") {
    if (!body.contains("resource_lock") || !body["resource_lock"].is_object()) {
      return Fault(400, "Missing 'resource_lock' in request body.");
    }
    l.lock_reason = body["resource_lock"].value("lock_reason", l.lock_reason);
    l.updated_at = NowIso();
    return Json(200, {{"resource_lock", LockJson(l)}});
  }
  if (m == "DELETE") {
    if (l.resource_type == "access_rule") {
      RemoveRuleLocks(l.resource_id);
    } else {
      locks.erase(it);
    }
    return HttpResponse{204, {}, ""};
  }
  return Fault(405, "Method not allowed.");
}

}  // namespace shareplane
