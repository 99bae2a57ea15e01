// The access rules of a share: allow, deny and update access, their locks,
// the share actions that carry them and /share-access-rules (part of the
// Manila emulator, emulator.h).
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/ids.h"
#include "tests/manila-emulator/emulator_state.h"

namespace shareplane {

using namespace manila_emulator;

namespace {

using json = nlohmann::json;

// IP networks compare by address with an optional /32.
bool SameAccessTo(const std::string& type, const std::string& a,
                  const std::string& b) {
  if (type != "ip") return a == b;
  auto strip = [](std::string s) {
    return absl::EndsWith(s, "/32") ? s.substr(0, s.size() - 3) : s;
  };
  return strip(a) == strip(b);
}

}  // namespace

json ManilaEmulator::State::RuleJson(const Rule& r, const Caller& c) const {
  const bool hidden = LockedFor(r.id, "show", c);
  return {{"id", r.id},
          {"access_type", r.access_type},
          {"access_to", hidden ? "******" : r.access_to},
          {"access_level", r.access_level},
          {"state", r.state},
          {"access_key", hidden                 ? json("******")
                         : r.access_key.empty() ? json(nullptr)
                                                : json(r.access_key)},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at},
          {"metadata", json::object()}};
}

HttpResponse ManilaEmulator::State::AllowAccess(Share& s, const json& a,
                                                const Caller& c) {
  Rule r;
  r.access_type = a.value("access_type", "");
  r.access_to = a.value("access_to", "");
  r.access_level = a.value("access_level", "rw");
  if (r.access_type != "ip" && r.access_type != "cephx" &&
      r.access_type != "user" && r.access_type != "cert") {
    return Fault(400, "Invalid access type.");
  }
  if (r.access_to.empty()) return Fault(400, "Invalid access_to.");
  if (r.access_level != "rw" && r.access_level != "ro") {
    return Fault(400,
                 absl::StrCat("Invalid access level: ", r.access_level, "."));
  }
  if (r.access_type == "cephx" && absl::StrContains(r.access_to, ".")) {
    return Fault(400, "cephx id may not contain '.'.");
  }
  const bool lock_visibility = a.value("lock_visibility", false);
  const bool lock_deletion = a.value("lock_deletion", false);
  if ((lock_visibility || lock_deletion || a.contains("lock_reason")) &&
      c.minor < 82) {
    return Fault(400,
                 "Restricting access rules is only available from "
                 "API version 2.82.");
  }
  if (s.status != "available") {
    return Fault(400, absl::StrCat("Invalid share: Share status must be "
                                   "available, but current status is: ",
                                   s.status, "."));
  }
  for (const Rule& e : s.rules) {
    if (e.access_type == r.access_type &&
        SameAccessTo(r.access_type, e.access_to, r.access_to)) {
      return Fault(400, absl::StrCat("Share access ", r.access_type, ":",
                                     r.access_to, " exists."));
    }
  }
  r.id = NewUuid();
  r.state = "queued_to_apply";
  r.created_at = r.updated_at = NowIso();
  r.due = RealClock::Get()->Now() + options.apply_delay / 2;
  const std::string reason = a.value("lock_reason", "");
  if (lock_deletion) {
    Lock& rule_lock =
        AddLock(c, s.project_id, "access_rule", r.id, "delete", reason);
    AddLock(c, s.project_id, "share", s.id, "delete",
            "Locked by access lock: " + rule_lock.id);
  }
  if (lock_visibility) {
    AddLock(c, s.project_id, "access_rule", r.id, "show", reason);
  }
  json out = RuleJson(r, c);
  out["share_id"] = s.id;
  s.rules.push_back(std::move(r));
  moving.insert(s.id);
  return Json(200, {{"access", out}});
}

HttpResponse ManilaEmulator::State::DenyAccess(Share& s, const json& d,
                                               const Caller& c) {
  const std::string access_id = d.value("access_id", "");
  for (Rule& r : s.rules) {
    if (r.id != access_id) continue;
    if (!LocksOn(r.id, "delete").empty() &&
        (!d.value("unrestrict", false) || LockedFor(r.id, "delete", c))) {
      return Fault(403, absl::StrCat("Cannot deny access for share '", s.id,
                                     "' since it has been locked. Please "
                                     "remove the locks and retry the "
                                     "operation."));
    }
    RemoveRuleLocks(r.id);
    if (r.state != "queued_to_deny" && r.state != "denying") {
      r.state = "queued_to_deny";
      r.due = RealClock::Get()->Now() + options.apply_delay / 2;
      moving.insert(s.id);
    }
    return HttpResponse{202, {}, ""};
  }
  return Fault(404,
               absl::StrCat("Access rule ", access_id, " could not be found."));
}

HttpResponse ManilaEmulator::State::Action(Share& s, const json& body,
                                           const Caller& c) {
  if (body.contains("allow_access") && body["allow_access"].is_object()) {
    return AllowAccess(s, body["allow_access"], c);
  }
  if (body.contains("deny_access") && body["deny_access"].is_object()) {
    return DenyAccess(s, body["deny_access"], c);
  }
  if (body.contains("reset_status")) {
    if (!c.admin) return Fault(403, "Policy doesn't allow reset_status.");
    s.status = body["reset_status"].value("status", s.status);
    return HttpResponse{202, {}, ""};
  }
  return Fault(400, "Invalid request body: unknown action.");
}

std::pair<Share*, Rule*> ManilaEmulator::State::FindRule(const std::string& id,
                                                         const Caller& c) {
  for (auto& [share_id, s] : shares) {
    for (Rule& r : s.rules) {
      if (r.id != id) continue;
      Share* visible = Find(share_id, c);
      if (visible == nullptr) return {nullptr, nullptr};
      return {visible, &r};
    }
  }
  return {nullptr, nullptr};
}

// Resource locks do not stand in the way: they guard deny (delete) and
// visibility (show), not the level.
HttpResponse ManilaEmulator::State::UpdateAccessLevel(const std::string& id,
                                                      const json& body,
                                                      const Caller& c) {
  if (!body.contains("update_access") || !body["update_access"].is_object()) {
    return Fault(400, "Missing 'update_access' in request body.");
  }
  const json& in = body["update_access"];
  const json level = in.contains("access_level") ? in["access_level"] : json();
  if (!level.is_string() || (level != "rw" && level != "ro")) {
    return Fault(400,
                 absl::StrCat("Invalid or unsupported share access level: ",
                              level.is_string() ? level.get<std::string>()
                              : level.is_null() ? std::string()
                                                : level.dump(),
                              "."));
  }
  const std::string access_level = level.get<std::string>();
  auto [s, r] = FindRule(id, c);
  if (r == nullptr) {
    return Fault(404, absl::StrCat("Share access rule ", id, " not found."));
  }
  if (r->state != "active") {
    return Fault(
        400, absl::StrCat("Invalid access rule: access rule ", id, " is ",
                          r->state, "; only an active rule can be updated."));
  }
  if (r->access_level != access_level) {
    r->access_level = access_level;
    r->state = "queued_to_apply";
    r->updated_at = NowIso();
    r->due = RealClock::Get()->Now() + options.apply_delay / 2;
    moving.insert(s->id);
  }
  json out = RuleJson(*r, c);
  out["share_id"] = s->id;
  return Json(200, {{"access", out}});
}

HttpResponse ManilaEmulator::State::AccessRules(
    const HttpRequest& req, const json& body, const Caller& c,
    const std::vector<std::string>& parts) {
  if (parts.size() == 1 && req.method == "GET" && c.minor >= 45) {
    std::string share_id = ParseQuery(req.query)["share_id"];
    Share* s = Find(share_id, c);
    if (s == nullptr) {
      return Fault(400, absl::StrCat("Share ", share_id, " not found."));
    }
    json list = json::array();
    for (const Rule& r : s->rules) list.push_back(RuleJson(r, c));
    return Json(200, {{"access_list", list}});
  }
  if (parts.size() == 2 && req.method == "PUT" && c.minor >= 88) {
    return UpdateAccessLevel(parts[1], body, c);
  }
  return Fault(404, "The resource could not be found.");
}

}  // namespace shareplane
