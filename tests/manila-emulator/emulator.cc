#include "tests/manila-emulator/emulator.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"

namespace shareplane {
namespace {

using json = nlohmann::json;
constexpr int kMaxMinor = 82;

struct Caller {
  std::string user;
  std::string project;
  bool admin = false;
  // Sent an X-Service-Token (or is admin): may see and remove service locks.
  bool service = false;
  std::string LockOwner() const { return service ? "service" : user; }
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
  bool lock_visibility = false;
  bool lock_deletion = false;
  std::string locker_user;
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
  Faults faults;
  StopSignal stop;
  std::thread worker;

  // Moves rules along queued_to_apply -> applying -> active and
  // queued_to_deny -> denying -> gone when their time is due.
  void Advance() {
    std::lock_guard<std::mutex> lock(mu);
    TimePoint now = RealClock::Get()->Now();
    for (auto& [id, share] : shares) {
      std::vector<Rule> kept;
      for (Rule& r : share.rules) {
        if (now >= r.due) {
          if (r.state == "queued_to_apply") {
            r.state = "applying";
            r.due = now + options.apply_delay / 2;
          } else if (r.state == "applying") {
            if (faults.rules == "stuck") {
              kept.push_back(std::move(r));
              continue;
            }
            r.state = faults.rules == "error" ? "error" : "active";
            if (r.access_type == "cephx") {
              r.access_key = absl::StrCat("AQ", NewUuid().substr(0, 18), "==");
            }
            r.updated_at = NowIso();
          } else if (r.state == "queued_to_deny") {
            r.state = "denying";
            r.due = now + options.apply_delay / 2;
          } else if (r.state == "denying") {
            continue;  // removed
          }
        }
        kept.push_back(std::move(r));
      }
      share.rules = std::move(kept);
    }
  }

  json RuleJson(const Rule& r, const Caller& c) const {
    bool hidden = r.lock_visibility && c.LockOwner() != r.locker_user &&
                  !(c.service && r.locker_user == "service");
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
            ? absl::StrCat("127.0.0.1:6789:/volumes/_nogroup/", s.id)
            : absl::StrCat(options.nfs_export_host, ":/shares/share-", s.id);
    if (!in.value("no_export_location", false)) {
      s.locations.push_back({NewUuid(), path, true, false});
    }
    json out = ShareJson(s);
    shares[s.id] = std::move(s);
    return Json(200, {{"share", out}});
  }

  HttpResponse Action(Share& s, const json& body, const Caller& c) {
    if (body.contains("allow_access")) {
      const json& a = body["allow_access"];
      Rule r;
      r.access_type = a.value("access_type", "");
      r.access_to = a.value("access_to", "");
      r.access_level = a.value("access_level", "rw");
      if (r.access_type != "ip" && r.access_type != "cephx" &&
          r.access_type != "user" && r.access_type != "cert") {
        return Fault(400, "Invalid access type.");
      }
      if (r.access_to.empty()) return Fault(400, "Invalid access_to.");
      if (r.access_type == "cephx" && absl::StrContains(r.access_to, ".")) {
        return Fault(400, "cephx id may not contain '.'.");
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
      r.lock_visibility = a.value("lock_visibility", false);
      r.lock_deletion = a.value("lock_deletion", false);
      r.locker_user = c.LockOwner();
      r.due = RealClock::Get()->Now() + options.apply_delay / 2;
      json out = RuleJson(r, c);
      out["share_id"] = s.id;
      s.rules.push_back(std::move(r));
      return Json(200, {{"access", out}});
    }
    if (body.contains("deny_access")) {
      std::string access_id = body["deny_access"].value("access_id", "");
      for (Rule& r : s.rules) {
        if (r.id != access_id) continue;
        if (r.lock_deletion &&
            ((r.locker_user != c.LockOwner() && !c.admin) ||
             !body["deny_access"].value("unrestrict", false))) {
          return Fault(403, absl::StrCat("Cannot deny access for share '", s.id,
                                         "' since it has been locked. Please "
                                         "remove the locks and retry the "
                                         "operation."));
        }
        if (r.state != "queued_to_deny" && r.state != "denying") {
          r.state = "queued_to_deny";
          r.due = RealClock::Get()->Now() + options.apply_delay / 2;
        }
        return HttpResponse{202, {}, ""};
      }
      return Fault(
          404, absl::StrCat("Access rule ", access_id, " could not be found."));
    }
    if (body.contains("reset_status")) {
      if (!c.admin) return Fault(403, "Policy doesn't allow reset_status.");
      s.status = body["reset_status"].value("status", s.status);
      return HttpResponse{202, {}, ""};
    }
    return Fault(400, "Invalid request body: unknown action.");
  }

  HttpResponse Route(const HttpRequest& req, const Caller& c,
                     std::vector<std::string> parts) {
    std::lock_guard<std::mutex> lock(mu);
    json body;
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return Fault(400, "Malformed request body.");
      }
    }
    const std::string& m = req.method;
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
    if (parts.size() == 1 && parts[0] == "share-access-rules" && m == "GET") {
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
        for (const Rule& r : s->rules) {
          if (r.lock_deletion) {
            return Fault(403, absl::StrCat("Resource lock/s [", r.id,
                                           "] prevent delete action."));
          }
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
};

ManilaEmulator::ManilaEmulator(ManilaEmulatorOptions options)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
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

HttpResponse ManilaEmulator::Handle(const HttpRequest& req) {
  std::vector<std::string> parts =
      absl::StrSplit(req.path, '/', absl::SkipEmpty());
  if (parts.empty()) return Json(300, VersionsDoc());
  if (parts[0] != "v2") return Fault(404, "The resource could not be found.");
  if (parts.size() == 1) return Json(200, VersionsDoc());

  // Control endpoint: POST /v2/_emulator/faults {"latency_ms", "fail_next",
  // "fail_status", "rules"}, admin only.
  if (parts.size() == 3 && parts[1] == "_emulator" && parts[2] == "faults") {
    if (req.Header("X-Auth-Token").rfind("admin", 0) != 0) {
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
  if (!version.empty()) {
    int minor = -1;
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
  // noauth: the token is "user:project"; "admin" users are administrators.
  std::string token = req.Header("X-Auth-Token");
  if (token.empty()) return Fault(401, "Authentication required");
  std::vector<std::string> up = absl::StrSplit(token, ':');
  Caller caller{up[0], up.size() > 1 ? up[1] : up[0], up[0] == "admin"};
  caller.service = caller.admin || req.HasHeader("X-Service-Token");

  parts.erase(parts.begin());
  // Optional /{project_id} prefix.
  if (!parts.empty() && parts[0] != "shares" &&
      parts[0] != "share-access-rules") {
    parts.erase(parts.begin());
  }
  HttpResponse resp = state_->Route(req, caller, std::move(parts));
  resp.SetHeader("X-OpenStack-Manila-API-Version",
                 version.empty() ? "2.0" : version);
  return resp;
}

}  // namespace shareplane
