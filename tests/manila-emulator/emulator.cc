#include "tests/manila-emulator/emulator.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/core/ids.h"
#include "tests/manila-emulator/model.h"

namespace shareplane {

using namespace manila_emulator;

namespace {

using json = nlohmann::json;
constexpr int kMaxMinor = 82;

// Who may lift (or see through) a lock: service locks need a service token,
// admin locks an admin or service, user locks their user or an admin.
bool CanManage(const Lock& l, const Caller& c) {
  if (l.lock_context == "service") return c.service;
  if (l.lock_context == "admin") return c.admin || c.service;
  return c.user == l.user_id || c.admin || c.service;
}

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000000", &tm);
  return buf;
}

HttpResponse Json(int status, const json& body) {
  return HttpResponse{
      status, {{"Content-Type", "application/json"}}, body.dump()};
}

HttpResponse Fault(int code, const std::string& message) {
  const char* name = code == 400   ? "badRequest"
                     : code == 401 ? "unauthorized"
                     : code == 403 ? "forbidden"
                     : code == 404 ? "itemNotFound"
                     : code == 406 ? "notAcceptable"
                     : code == 409 ? "conflictingRequest"
                                   : "computeFault";
  return Json(code, {{name, {{"code", code}, {"message", message}}}});
}

json VersionsDoc() {
  return {{"versions", json::array({{{"id", "v2.0"},
                                     {"status", "CURRENT"},
                                     {"version", absl::StrCat("2.", kMaxMinor)},
                                     {"min_version", "2.0"},
                                     {"updated", "2015-08-27T11:33:21Z"},
                                     {"links", json::array()}}})}};
}

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

// Faults injected through the admin-only control endpoint; none by default.
struct Faults {
  int latency_ms = 0;
  int fail_next = 0;  // answer the next N API calls with fail_status
  int fail_status = 503;
  std::string rules = "normal";  // normal | stuck (stay applying) | error
};

struct ManilaEmulator::State {
  ManilaEmulatorOptions options;
  std::mutex mu;
  std::map<std::string, Share> shares;
  std::map<std::string, Lock> locks;
  // Shares with a rule in transition: the only ones Advance looks at.
  std::set<std::string> moving;
  Faults faults;
  StopSignal stop;
  std::thread worker;

  // Moves rules along queued_to_apply -> applying -> active and
  // queued_to_deny -> denying -> gone when their time is due.
  void Advance() {
    std::lock_guard<std::mutex> lock(mu);
    const TimePoint now = RealClock::Get()->Now();
    bool changed = false;
    for (auto it = moving.begin(); it != moving.end();) {
      auto found = shares.find(*it);
      if (found == shares.end()) {
        it = moving.erase(it);
        continue;
      }
      Share& share = found->second;
      bool still_moving = false;
      std::vector<Rule> kept;
      for (Rule& r : share.rules) {
        // A rule may pass several states in one tick when they are due.
        bool gone = false;
        while (now >= r.due && !gone) {
          const std::string before = r.state;
          if (r.state == "queued_to_apply") {
            r.state = "applying";
            r.due += options.apply_delay / 2;
          } else if (r.state == "applying" && faults.rules != "stuck") {
            r.state = faults.rules == "error" ? "error" : "active";
            if (r.access_type == "cephx") {
              r.access_key = absl::StrCat(
                  "AQ", absl::StrReplaceAll(NewUuid(), {{"-", ""}}), "==");
            }
            r.updated_at = NowIso();
          } else if (r.state == "queued_to_deny") {
            r.state = "denying";
            r.due += options.apply_delay / 2;
          } else if (r.state == "denying") {
            gone = true;
          }
          if (r.state == before && !gone) break;  // settled
          changed = true;
        }
        if (gone) continue;
        still_moving |= r.state != "active" && r.state != "error";
        kept.push_back(std::move(r));
      }
      share.rules = std::move(kept);
      it = still_moving ? std::next(it) : moving.erase(it);
    }
    if (changed) Save();
  }

  std::vector<const Lock*> LocksOn(const std::string& resource_id,
                                   const std::string& action) const {
    std::vector<const Lock*> out;
    for (const auto& [id, l] : locks) {
      if (l.resource_id == resource_id && l.resource_action == action) {
        out.push_back(&l);
      }
    }
    return out;
  }

  // True when a lock of `action` on the resource is one `c` cannot lift.
  bool LockedFor(const std::string& resource_id, const std::string& action,
                 const Caller& c) const {
    for (const Lock* l : LocksOn(resource_id, action)) {
      if (!CanManage(*l, c)) return true;
    }
    return false;
  }

  Lock& AddLock(const Caller& c, const std::string& project_id,
                const std::string& type, const std::string& resource_id,
                const std::string& action, const std::string& reason) {
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

  // Drops the locks an access rule carries, with the share lock each of its
  // delete locks placed.
  void RemoveRuleLocks(const std::string& rule_id) {
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

  json RuleJson(const Rule& r, const Caller& c) const {
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

  json ShareJson(const Share& s) const {
    return {{"id", s.id},
            {"name", s.name},
            {"status", s.status},
            {"share_proto", s.proto},
            {"size", s.size},
            {"project_id", s.project_id},
            {"created_at", s.created_at},
            {"is_public", false},
            {"share_type", "default"},
            {"links", json::array()}};
  }

  Share* Find(const std::string& id, const Caller& c) {
    auto it = shares.find(id);
    if (it == shares.end()) return nullptr;
    if (!c.admin && it->second.project_id != c.project) return nullptr;
    return &it->second;
  }

  HttpResponse CreateShare(const json& body, const Caller& c) {
    if (!body.contains("share") || !body["share"].is_object()) {
      return Fault(400, "Missing 'share' in request body.");
    }
    const json& in = body["share"];
    Share s;
    s.id = NewUuid();
    s.proto = in.value("share_proto", "");
    if (s.proto != "NFS" && s.proto != "CEPHFS" && s.proto != "CIFS") {
      return Fault(400, absl::StrCat("Invalid share protocol provided: '",
                                     s.proto, "'."));
    }
    s.name = in.value("name", "");
    s.size = in.value("size", 1);
    s.project_id = c.admin && in.contains("project_id")
                       ? in["project_id"].get<std::string>()
                       : c.project;
    s.status = c.admin ? in.value("status", "available") : "available";
    s.created_at = NowIso();
    std::string path =
        s.proto == "CEPHFS"
            ? absl::StrCat(options.cephfs_mons, ":/volumes/_nogroup/", s.id)
            : absl::StrCat(options.nfs_export_host, ":/shares/share-", s.id);
    if (s.proto == "NFS" && !options.export_root.empty()) {
      const std::string dir =
          absl::StrCat(options.export_root, "/share-", s.id);
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) return Fault(500, "Cannot create the share's directory.");
      path = absl::StrCat(options.nfs_export_host, ":", dir);
    }
    if (!in.value("no_export_location", false)) {
      s.locations.push_back({NewUuid(), path, true, false});
    }
    if (in.value("admin_export_location", false)) {
      s.locations.push_back({NewUuid(), path + "-admin", false, true});
    }
    json out = ShareJson(s);
    shares[s.id] = std::move(s);
    return Json(200, {{"share", out}});
  }

  HttpResponse AllowAccess(Share& s, const json& a, const Caller& c) {
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

  HttpResponse DenyAccess(Share& s, const json& d, const Caller& c) {
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
    return Fault(
        404, absl::StrCat("Access rule ", access_id, " could not be found."));
  }

  HttpResponse Action(Share& s, const json& body, const Caller& c) {
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

  // /v2/resource-locks[/{id}] (2.81+).
  HttpResponse ResourceLocks(const HttpRequest& req, const json& body,
                             const Caller& c,
                             const std::vector<std::string>& parts) {
    const std::string& m = req.method;
    if (parts.size() == 1 && m == "GET") {
      auto q = ParseQuery(req.query);
      json list = json::array();
      for (const auto& [id, l] : locks) {
        if (!c.admin && l.project_id != c.project) continue;
        bool match = true;
        for (const char* key :
             {"resource_id", "resource_type", "resource_action", "lock_context",
              "user_id", "project_id"}) {
          auto it = q.find(key);
          if (it != q.end() && LockJson(l)[key] != it->second) match = false;
        }
        if (match) list.push_back(LockJson(l));
      }
      return Json(200, {{"resource_locks", list}});
    }
    if (parts.size() == 1 && m == "POST") {
      if (!body.contains("resource_lock") ||
          !body["resource_lock"].is_object()) {
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
    if (parts.size() != 2)
      return Fault(404, "The resource could not be found.");
    auto it = locks.find(parts[1]);
    if (it == locks.end() || (!c.admin && it->second.project_id != c.project)) {
      return Fault(404, absl::StrCat("Resource lock ", parts[1],
                                     " could not be found."));
    }
    Lock& l = it->second;
    if (m == "GET") return Json(200, {{"resource_lock", LockJson(l)}});
    if (!CanManage(l, c)) {
      return Fault(403, absl::StrCat("Resource lock ", l.id,
                                     " cannot be modified by this user."));
    }
    if (m == "PUT") {
      if (!body.contains("resource_lock") ||
          !body["resource_lock"].is_object()) {
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

  HttpResponse Route(const HttpRequest& req, const Caller& c,
                     std::vector<std::string> parts) {
    json body;
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return Fault(400, "Malformed request body.");
      }
    }
    const std::string& m = req.method;
    if (!parts.empty() && parts[0] == "resource-locks" && c.minor >= 81) {
      return ResourceLocks(req, body, c, parts);
    }
    if (parts.size() == 1 && parts[0] == "shares") {
      if (m == "POST") return CreateShare(body, c);
      if (m == "GET") {
        json list = json::array();
        for (auto& [id, s] : shares) {
          if (c.admin || s.project_id == c.project)
            list.push_back(ShareJson(s));
        }
        return Json(200, {{"shares", list}});
      }
    }
    if (parts.size() == 1 && parts[0] == "share-access-rules" && m == "GET" &&
        c.minor >= 45) {
      std::string share_id = ParseQuery(req.query)["share_id"];
      Share* s = Find(share_id, c);
      if (s == nullptr) {
        return Fault(400, absl::StrCat("Share ", share_id, " not found."));
      }
      json list = json::array();
      for (const Rule& r : s->rules) list.push_back(RuleJson(r, c));
      return Json(200, {{"access_list", list}});
    }
    if (parts.size() >= 2 && parts[0] == "shares") {
      Share* s = Find(parts[1], c);
      if (s == nullptr) {
        return Fault(404,
                     absl::StrCat("Share ", parts[1], " could not be found."));
      }
      if (parts.size() == 2 && m == "GET") {
        return Json(200, {{"share", ShareJson(*s)}});
      }
      if (parts.size() == 2 && m == "DELETE") {
        std::vector<std::string> ids;
        for (const Lock* l : LocksOn(s->id, "delete")) ids.push_back(l->id);
        if (!ids.empty()) {
          return Fault(
              403, absl::StrCat("Resource lock/s [", absl::StrJoin(ids, ", "),
                                "] prevent delete action."));
        }
        shares.erase(parts[1]);
        return HttpResponse{202, {}, ""};
      }
      if (parts.size() == 3 && parts[2] == "export_locations" && m == "GET") {
        json list = json::array();
        for (const auto& l : s->locations) {
          if (l.admin_only && !c.admin) continue;
          list.push_back({{"id", l.id},
                          {"path", l.path},
                          {"preferred", l.preferred},
                          {"is_admin_only", l.admin_only}});
        }
        return Json(200, {{"export_locations", list}});
      }
      if (parts.size() == 3 && parts[2] == "action" && m == "POST") {
        return Action(*s, body, c);
      }
    }
    return Fault(404, "The resource could not be found.");
  }

  void Save() {
    if (options.state_file.empty()) return;
    const std::string tmp = options.state_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << DumpState(shares, locks).dump();
      if (!out) return;
    }
    std::rename(tmp.c_str(), options.state_file.c_str());
  }
};

ManilaEmulator::ManilaEmulator(ManilaEmulatorOptions options)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  if (!state_->options.state_file.empty()) {
    std::ifstream in(state_->options.state_file);
    if (in) {
      json doc = json::parse(in, nullptr, false);
      if (doc.is_object()) {
        LoadState(doc, RealClock::Get()->Now(), state_->shares, state_->locks,
                  state_->moving);
      }
    }
  }
  const Duration tick = std::max<Duration>(std::chrono::milliseconds(2),
                                           state_->options.apply_delay / 10);
  state_->worker = std::thread([this, tick] {
    while (!state_->stop.WaitFor(tick)) state_->Advance();
  });
}

ManilaEmulator::~ManilaEmulator() {
  state_->stop.Stop();
  state_->worker.join();
}

namespace {

// An empty Glance v2 under /image: clients such as python-openstackclient
// build an image client (with version discovery) for `server show` and
// `server list` even when no server has an image. Not Manila; test-only.
HttpResponse ImageStandIn(const HttpRequest& req,
                          const std::vector<std::string>& parts) {
  const std::string base = "http://" + req.Header("Host") + "/image";
  if (parts.size() == 1) {
    nlohmann::json v = {
        {"id", "v2.15"},
        {"status", "CURRENT"},
        {"links", {{{"rel", "self"}, {"href", base + "/v2/"}}}}};
    return Json(300, {{"versions", {v}}});
  }
  if (parts.size() == 3 && parts[1] == "v2" && parts[2] == "images") {
    return Json(200, {{"images", nlohmann::json::array()},
                      {"first", "/v2/images"},
                      {"schema", "/v2/schemas/images"}});
  }
  return Json(404, {{"code", 404},
                    {"title", "Not Found"},
                    {"message", "The resource could not be found."}});
}

}  // namespace

HttpResponse ManilaEmulator::Handle(const HttpRequest& req) {
  std::vector<std::string> parts =
      absl::StrSplit(req.path, '/', absl::SkipEmpty());
  if (parts.empty()) return Json(300, VersionsDoc());
  if (parts[0] == "image") return ImageStandIn(req, parts);
  if (parts[0] != "v2") return Fault(404, "The resource could not be found.");
  if (parts.size() == 1) return Json(200, VersionsDoc());

  // Control endpoint: POST /v2/_emulator/faults {"latency_ms", "fail_next",
  // "fail_status", "rules"}, admin only.
  if (parts.size() == 3 && parts[1] == "_emulator" && parts[2] == "faults") {
    std::optional<Caller> who =
        AuthenticateCaller(req, state_->options.keystone_url);
    if (!who || !who->admin) {
      return Fault(403, "Only admins may inject faults.");
    }
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object()) return Fault(400, "Malformed request body.");
    std::lock_guard<std::mutex> lock(state_->mu);
    Faults& f = state_->faults;
    f.latency_ms = body.value("latency_ms", f.latency_ms);
    f.fail_next = body.value("fail_next", f.fail_next);
    f.fail_status = body.value("fail_status", f.fail_status);
    f.rules = body.value("rules", f.rules);
    return HttpResponse{204, {}, ""};
  }
  {
    int latency_ms, fail_status = 0;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      latency_ms = state_->faults.latency_ms;
      if (state_->faults.fail_next > 0) {
        --state_->faults.fail_next;
        fail_status = state_->faults.fail_status;
      }
    }
    if (latency_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
    }
    if (fail_status != 0) return Fault(fail_status, "Injected fault.");
  }

  std::string version = req.Header("X-OpenStack-Manila-API-Version");
  int minor = 0;
  if (!version.empty()) {
    if (!absl::StartsWith(version, "2.") ||
        !absl::SimpleAtoi(version.substr(2), &minor)) {
      return Fault(400, absl::StrCat("Invalid API version request string ",
                                     version, "."));
    }
    if (minor > kMaxMinor) {
      return Fault(406, absl::StrCat("Version ", version,
                                     " is not supported by the API. Minimum "
                                     "is 2.0 and maximum is 2.",
                                     kMaxMinor, "."));
    }
  }
  std::optional<Caller> who =
      AuthenticateCaller(req, state_->options.keystone_url);
  if (!who) return Fault(401, "Authentication required");
  Caller caller = *who;
  caller.minor = minor;

  parts.erase(parts.begin());
  // Optional /{project_id} prefix.
  if (!parts.empty() && parts[0] != "shares" &&
      parts[0] != "share-access-rules" && parts[0] != "resource-locks") {
    parts.erase(parts.begin());
  }
  HttpResponse resp;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    resp = state_->Route(req, caller, std::move(parts));
    if (req.method != "GET" && resp.status < 300) state_->Save();
  }
  resp.SetHeader("X-OpenStack-Manila-API-Version",
                 version.empty() ? "2.0" : version);
  return resp;
}

}  // namespace shareplane
