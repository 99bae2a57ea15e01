#include "common/openstack/manila_client.h"

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/core/json_body.h"
#include "common/core/metrics.h"
#include "common/http/http.h"
#include "common/openstack/keystone.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

// The access-level update (PUT /share-access-rules/{id}) came with 2.88;
// every other call is made at 2.82.
constexpr absl::string_view kUpdateAccessMicroversion = "2.88";

std::string S(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string FaultMessage(const std::string& body) {
  json j = ParseJson(body).value_or(json(json::value_t::discarded));
  if (j.is_object() && !j.empty() && j.begin()->is_object()) {
    return S(*j.begin(), "message");
  }
  return body.substr(0, 200);
}

ManilaAccessRule RuleFromJson(const json& j) {
  ManilaAccessRule r;
  r.id = S(j, "id");
  r.access_type = S(j, "access_type");
  r.access_to = S(j, "access_to");
  r.access_level = S(j, "access_level");
  r.state = S(j, "state");
  r.access_key = S(j, "access_key");
  return r;
}

// [manila] endpoint, or when unset Manila's in the Keystone catalog.
absl::StatusOr<std::string> ManilaEndpoint(const std::string& configured,
                                           KeystoneSession* keystone) {
  if (!configured.empty()) return configured;
  if (keystone == nullptr) {
    return absl::FailedPreconditionError("[manila] endpoint is not set");
  }
  auto found = keystone->Endpoint({"shared-file-system", "sharev2", "share"});
  if (!found.ok()) return found.status();
  std::string endpoint = *found;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

// The request with Manila's headers: the user's token with the service
// token, or the service token alone.
HttpClientRequest ManilaRequest(const std::string& method,
                                const std::string& url, const std::string& body,
                                Duration timeout, const ManilaAuth& auth,
                                const std::string& service_token,
                                absl::string_view microversion) {
  HttpClientRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.timeout = timeout;
  req.headers = {{"X-OpenStack-Manila-API-Version", std::string(microversion)},
                 {"Accept", "application/json"}};
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
  }
  if (!auth.request_id.empty()) {
    req.headers.emplace_back("X-OpenStack-Request-ID", auth.request_id);
  }
  if (!auth.token.empty()) {
    req.headers.emplace_back("X-Auth-Token", auth.token);
    if (!service_token.empty()) {
      req.headers.emplace_back("X-Service-Token", service_token);
    }
  } else {
    req.headers.emplace_back("X-Auth-Token", service_token);
  }
  return req;
}

// Where version discovery answers without a token: the service's root,
// the endpoint before its /v2 (and any /{project_id} after it), as
// keystoneauth finds it; Manila's /v2 itself sits behind auth_token.
std::string VersionsUrl(const std::string& endpoint) {
  for (size_t at = endpoint.find("/v2"); at != std::string::npos;
       at = endpoint.find("/v2", at + 1)) {
    const size_t end = at + 3;
    if (end == endpoint.size() || endpoint[end] == '/') {
      return endpoint.substr(0, at) + "/";
    }
  }
  return endpoint;
}

// NN of the CURRENT version's "2.NN" in a version discovery document.
absl::StatusOr<int> CurrentMinor(const std::string& body) {
  json doc = ParseJson(body).value_or(json(json::value_t::discarded));
  if (doc.is_object() && doc.contains("versions") &&
      doc["versions"].is_array()) {
    for (const json& v : doc["versions"]) {
      if (!v.is_object() || S(v, "status") != "CURRENT") continue;
      const std::string full = S(v, "version");
      absl::string_view version = full;
      int minor = 0;
      if (absl::ConsumePrefix(&version, "2.") &&
          absl::SimpleAtoi(version, &minor) && minor >= 0) {
        return minor;
      }
    }
  }
  return absl::InternalError("no CURRENT 2.NN version in the answer");
}

// The call's duration, and its failure by HTTP code or "unreachable".
void ObserveCall(const std::string& method, const std::string& path,
                 std::chrono::steady_clock::time_point started,
                 const absl::StatusOr<HttpResponse>& resp) {
  const MetricLabels labels = {{"method", method},
                               {"call", RouteTemplate(path)}};
  Metrics::Global().Observe(
      "shareplane_manila_request_duration_seconds", labels,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count());
  if (!resp.ok() || resp->status >= 400) {
    MetricLabels error = labels;
    error.emplace_back("code", resp.ok() ? std::to_string(resp->status)
                                         : std::string("unreachable"));
    Metrics::Global().Increment("shareplane_manila_errors_total", error);
  }
}

// An error answer (`code` 300 and up) as a status coded by its meaning.
absl::Status ErrorForCode(int code, const std::string& msg) {
  switch (code) {
    case 400:
      // "Share access ip:H exists." when the grant is already there.
      if (absl::StrContains(msg, " exists.")) {
        return absl::AlreadyExistsError(msg);
      }
      return absl::InvalidArgumentError(msg);
    case 401:
      return absl::UnauthenticatedError(msg);
    case 403:
      return absl::PermissionDeniedError(msg);
    case 404:
      return absl::NotFoundError(msg);
    case 406:  // "Version 2.NN is not supported by the API. ..."
    case 409:
      return absl::FailedPreconditionError(msg);
    default:
      return code >= 500 ? absl::UnavailableError(msg)
                         : absl::InternalError(msg);
  }
}

}  // namespace

struct ManilaClient::Reply {
  int status;
  json body;
};

absl::StatusOr<std::string> PickExportLocation(
    const std::vector<ManilaExportLocation>& locations) {
  for (const auto& l : locations) {
    if (l.preferred) return l.path;
  }
  if (!locations.empty()) return locations.front().path;
  return absl::FailedPreconditionError("export location is missing");
}

ManilaClient::ManilaClient(ManilaOptions options)
    : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') {
    options_.endpoint.pop_back();
  }
}

absl::StatusOr<ManilaClient::Reply> ManilaClient::Call(
    const std::string& method, const std::string& path, const std::string& body,
    const ManilaAuth& auth, absl::string_view microversion) {
  KeystoneSession* keystone = options_.keystone;
  auto endpoint = ManilaEndpoint(options_.endpoint, keystone);
  if (!endpoint.ok()) return endpoint.status();
  absl::StatusOr<HttpResponse> resp;
  // A service token Manila refuses (revoked, expired early) is renewed once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string service_token = auth.service_token;
    if (keystone != nullptr) {
      auto token = keystone->Token();
      if (!token.ok()) return token.status();
      service_token = *token;
    }
    const auto started = std::chrono::steady_clock::now();
    resp = HttpFetch(ManilaRequest(method, *endpoint + path, body,
                                   options_.timeout, auth, service_token,
                                   microversion));
    ObserveCall(method, path, started, resp);
    if (resp.ok() && resp->status == 401 && keystone != nullptr &&
        attempt == 0) {
      keystone->Invalidate(service_token);
      continue;
    }
    break;
  }
  if (!resp.ok()) {
    return absl::Status(resp.status().code(),
                        absl::StrCat("Manila: ", resp.status().message()));
  }
  const int code = resp->status;
  if (code >= 200 && code < 300) {
    Reply reply{code,
                ParseJson(resp->body).value_or(json(json::value_t::discarded))};
    if (!resp->body.empty() && reply.body.is_discarded()) {
      return absl::InternalError(
          absl::StrCat("Manila ", method, " ", path, ": malformed JSON"));
    }
    return reply;
  }
  return ErrorForCode(
      code, absl::StrCat("Manila ", method, " ", path, " answered ", code, ": ",
                         FaultMessage(resp->body)));
}

absl::StatusOr<ManilaShare> ManilaClient::GetShare(const std::string& id,
                                                   const ManilaAuth& auth) {
  auto reply = Call("GET", "/shares/" + id, "", auth);
  if (!reply.ok()) return reply.status();
  const json& s = reply->body["share"];
  ManilaShare share;
  share.id = S(s, "id");
  share.name = S(s, "name");
  share.status = S(s, "status");
  share.share_proto = S(s, "share_proto");
  share.project_id = S(s, "project_id");
  return share;
}

absl::StatusOr<std::vector<ManilaExportLocation>>
ManilaClient::ListExportLocations(const std::string& share_id,
                                  const ManilaAuth& auth) {
  auto reply =
      Call("GET", "/shares/" + share_id + "/export_locations", "", auth);
  if (!reply.ok()) return reply.status();
  std::vector<ManilaExportLocation> out;
  for (const json& l : reply->body.value("export_locations", json::array())) {
    out.push_back({S(l, "id"), S(l, "path"), l.value("preferred", false)});
  }
  return out;
}

absl::StatusOr<std::vector<ManilaAccessRule>> ManilaClient::ListAccessRules(
    const std::string& share_id, const ManilaAuth& auth) {
  auto reply =
      Call("GET", "/share-access-rules?share_id=" + share_id, "", auth);
  if (!reply.ok()) {
    // Manila answers 400 "Share <id> not found." for an unknown share.
    if (reply.status().code() == absl::StatusCode::kInvalidArgument &&
        reply.status().message().find("not found") != std::string::npos) {
      return absl::NotFoundError(reply.status().message());
    }
    return reply.status();
  }
  std::vector<ManilaAccessRule> out;
  for (const json& r : reply->body.value("access_list", json::array())) {
    out.push_back(RuleFromJson(r));
  }
  return out;
}

absl::StatusOr<ManilaAccessRule> ManilaClient::AllowAccess(
    const std::string& share_id, const std::string& access_type,
    const std::string& access_to, const std::string& lock_reason,
    const std::string& access_level, const ManilaAuth& auth) {
  json body = {{"allow_access",
                {{"access_type", access_type},
                 {"access_to", access_to},
                 {"access_level", access_level},
                 {"lock_visibility", true},
                 {"lock_deletion", true},
                 {"lock_reason", lock_reason}}}};
  auto reply =
      Call("POST", "/shares/" + share_id + "/action", body.dump(), auth);
  if (!reply.ok()) return reply.status();
  return RuleFromJson(reply->body["access"]);
}

absl::Status ManilaClient::UpdateAccessLevel(const std::string& access_id,
                                             const std::string& access_level,
                                             const ManilaAuth& auth) {
  json body = {{"update_access", {{"access_level", access_level}}}};
  return Call("PUT", "/share-access-rules/" + access_id, body.dump(), auth,
              kUpdateAccessMicroversion)
      .status();
}

absl::Status ManilaClient::DenyAccess(const std::string& share_id,
                                      const std::string& access_id,
                                      const ManilaAuth& auth) {
  json body = {
      {"deny_access", {{"access_id", access_id}, {"unrestrict", true}}}};
  return Call("POST", "/shares/" + share_id + "/action", body.dump(), auth)
      .status();
}

absl::StatusOr<std::vector<ManilaResourceLock>> ManilaClient::ListResourceLocks(
    const std::string& resource_id, const ManilaAuth& auth) {
  auto reply =
      Call("GET", "/resource-locks?resource_id=" + resource_id, "", auth);
  if (!reply.ok()) return reply.status();
  std::vector<ManilaResourceLock> out;
  for (const json& l : reply->body.value("resource_locks", json::array())) {
    out.push_back({S(l, "id"), S(l, "resource_type"), S(l, "resource_id"),
                   S(l, "resource_action"), S(l, "lock_context"),
                   S(l, "lock_reason")});
  }
  return out;
}

absl::StatusOr<int> ManilaClient::MaxMicroversionMinor(const ManilaAuth& auth) {
  {
    MutexLock lock(&mu_);
    if (max_minor_) return *max_minor_;
  }
  auto endpoint = ManilaEndpoint(options_.endpoint, options_.keystone);
  if (!endpoint.ok()) return endpoint.status();
  HttpClientRequest req;
  req.url = VersionsUrl(*endpoint);
  req.timeout = options_.timeout;
  req.headers = {{"Accept", "application/json"}};
  if (!auth.request_id.empty()) {
    req.headers.emplace_back("X-OpenStack-Request-ID", auth.request_id);
  }
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<HttpResponse> resp = HttpFetch(req);
  ObserveCall("GET", "/", started, resp);
  if (!resp.ok()) {
    return absl::Status(resp.status().code(),
                        absl::StrCat("Manila: ", resp.status().message()));
  }
  // Manila answers /v2 with 200 and its root with 300 Multiple Choices.
  if (resp->status != 200 && resp->status != 300) {
    return ErrorForCode(
        resp->status,
        absl::StrCat("Manila GET ", req.url, " answered ", resp->status, ": ",
                     FaultMessage(resp->body)));
  }
  absl::StatusOr<int> minor = CurrentMinor(resp->body);
  if (!minor.ok()) {
    return absl::InternalError(
        absl::StrCat("Manila GET ", req.url, ": ", minor.status().message()));
  }
  MutexLock lock(&mu_);
  max_minor_ = *minor;
  return *minor;
}

}  // namespace shareplane
