// The Manila emulator (emulator.h): shares, rule transitions, routing,
// injected faults and the state file; access rules and resource locks are
// in access_rules.cc and resource_locks.cc.
#include "tests/manila-emulator/emulator.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/core/ids.h"
#include "tests/manila-emulator/emulator_state.h"

namespace shareplane {

using namespace manila_emulator;

namespace {

using json = nlohmann::json;

json VersionsDoc(int max_minor) {
  return {{"versions", json::array({{{"id", "v2.0"},
                                     {"status", "CURRENT"},
                                     {"version", absl::StrCat("2.", max_minor)},
                                     {"min_version", "2.0"},
                                     {"updated", "2015-08-27T11:33:21Z"},
                                     {"links", json::array()}}})}};
}

}  // namespace

std::optional<int> ParseManilaMicroversion(absl::string_view version) {
  int minor = 0;
  if (!absl::ConsumePrefix(&version, "2.") || version.empty() ||
      !std::all_of(version.begin(), version.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(version, &minor)) {
    return std::nullopt;
  }
  return minor;
}

namespace manila_emulator {

// With microseconds, as Manila shows them: an update within the same
// second still changes updated_at.
std::string NowIso() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          now.time_since_epoch())
                          .count() %
                      1000000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return absl::StrCat(buf, ".", absl::Dec(micros, absl::kZeroPad6));
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

}  // namespace manila_emulator

void ManilaEmulator::State::Advance() {
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
          // An access-level update keeps the rule's key.
          if (r.access_type == "cephx" && r.access_key.empty()) {
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

json ManilaEmulator::State::ShareJson(const Share& s) const {
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

Share* ManilaEmulator::State::Find(const std::string& id, const Caller& c) {
  auto it = shares.find(id);
  if (it == shares.end()) return nullptr;
  if (!c.admin && it->second.project_id != c.project) return nullptr;
  return &it->second;
}

HttpResponse ManilaEmulator::State::CreateShare(const json& body,
                                                const Caller& c) {
  if (!body.contains("share") || !body["share"].is_object()) {
    return Fault(400, "Missing 'share' in request body.");
  }
  const json& in = body["share"];
  Share s;
  s.id = NewUuid();
  s.proto = in.value("share_proto", "");
  if (s.proto != "NFS" && s.proto != "CEPHFS" && s.proto != "CIFS") {
    return Fault(
        400, absl::StrCat("Invalid share protocol provided: '", s.proto, "'."));
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
    const std::string dir = absl::StrCat(options.export_root, "/share-", s.id);
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

HttpResponse ManilaEmulator::State::Route(const HttpRequest& req,
                                          const Caller& c,
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
        if (c.admin || s.project_id == c.project) list.push_back(ShareJson(s));
      }
      return Json(200, {{"shares", list}});
    }
  }
  if (!parts.empty() && parts[0] == "share-access-rules") {
    return AccessRules(req, body, c, parts);
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
        return Fault(403,
                     absl::StrCat("Resource lock/s [", absl::StrJoin(ids, ", "),
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

void ManilaEmulator::State::Save() {
  if (options.state_file.empty()) return;
  const std::string tmp = options.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << DumpState(shares, locks).dump();
    if (!out) return;
  }
  std::rename(tmp.c_str(), options.state_file.c_str());
}

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

// Manila's answer to an X-OpenStack-Manila-API-Version it does not serve:
// 400 when unparsable, 406 above the maximum. nullopt when served (or
// absent).
std::optional<HttpResponse> VersionFault(const std::string& version,
                                         int max_minor) {
  if (version.empty()) return std::nullopt;
  std::optional<int> minor = ParseManilaMicroversion(version);
  if (!minor) {
    return Fault(
        400, absl::StrCat("Invalid API version request string ", version, "."));
  }
  if (*minor > max_minor) {
    return Fault(406, absl::StrCat("Version ", version,
                                   " is not supported by the API. Minimum "
                                   "is 2.0 and maximum is 2.",
                                   max_minor, "."));
  }
  return std::nullopt;
}

}  // namespace

HttpResponse ManilaEmulator::Handle(const HttpRequest& req) {
  std::vector<std::string> parts =
      absl::StrSplit(req.path, '/', absl::SkipEmpty());
  const int max_minor = state_->options.max_microversion_minor;
  if (parts.empty()) return Json(300, VersionsDoc(max_minor));
  if (parts[0] == "image") return ImageStandIn(req, parts);
  if (parts[0] != "v2") return Fault(404, "The resource could not be found.");
  if (parts.size() == 1) return Json(200, VersionsDoc(max_minor));

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
      // Kept sleep: it is the injected fault (a slow Manila), not a wait.
      std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms));
    }
    if (fail_status != 0) return Fault(fail_status, "Injected fault.");
  }

  const std::string version = req.Header("X-OpenStack-Manila-API-Version");
  if (std::optional<HttpResponse> refused = VersionFault(version, max_minor)) {
    return *refused;
  }
  const int minor = version.empty() ? 0 : *ParseManilaMicroversion(version);
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
