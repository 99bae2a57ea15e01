#include "api-service/compute_api.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api-service/faults.h"
#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/core/metrics.h"

namespace shareplane {
namespace {

using json = nlohmann::ordered_json;

json V21Doc(const HttpRequest& req) {
  return {{"id", "v2.1"},
          {"status", "CURRENT"},
          {"version",
           absl::StrCat(kMaxApiVersion.major, ".", kMaxApiVersion.minor)},
          {"min_version",
           absl::StrCat(kMinApiVersion.major, ".", kMinApiVersion.minor)},
          {"updated", "2013-07-23T11:33:21Z"},
          {"links",
           json::array({{{"rel", "self"}, {"href", BaseUrl(req) + "/v2.1/"}},
                        {{"rel", "describedby"},
                         {"type", "text/html"},
                         {"href", "http://docs.openstack.org/"}}})},
          {"media-types",
           json::array(
               {{{"base", "application/json"},
                 {"type",
                  "application/vnd.openstack.compute+json;version=2.1"}}})}};
}

HttpResponse MethodNotAllowed() {
  return FaultResponse(405,
                       "The method specified is not allowed for this "
                       "resource.");
}

// keystonemiddleware's answers: {"error": {"code", "title", "message"}},
// 401 with WWW-Authenticate, or 503 when Keystone cannot be asked.
HttpResponse AuthRefusal(const absl::Status& s,
                         const std::string& www_authenticate) {
  const bool unauthorized = s.code() == absl::StatusCode::kUnauthenticated;
  const int code = unauthorized ? 401 : 503;
  HttpResponse r = JsonResponse(
      code, {{"error",
              {{"code", code},
               {"title", unauthorized ? "Unauthorized" : "Service Unavailable"},
               {"message", std::string(s.message())}}}});
  if (unauthorized && !www_authenticate.empty()) {
    r.SetHeader("WWW-Authenticate", www_authenticate);
  }
  return r;
}

std::string VersionString(const ApiVersion& v) {
  return absl::StrCat(v.major, ".", v.minor);
}

// GET / (both versions) and GET /v2.1; 404 for any other first part.
HttpResponse VersionDocuments(const HttpRequest& req,
                              const std::vector<std::string>& parts) {
  if (parts.empty()) {
    if (req.method != "GET") return FaultResponse(405, "Method not allowed");
    json v20 = {
        {"id", "v2.0"},
        {"status", "DEPRECATED"},
        {"version", ""},
        {"min_version", ""},
        {"updated", "2025-07-04T12:00:00Z"},
        {"links",
         json::array({{{"rel", "self"}, {"href", BaseUrl(req) + "/v2/"}}})}};
    json v21 = V21Doc(req);
    v21.erase("media-types");
    v21["links"] =
        json::array({{{"rel", "self"}, {"href", BaseUrl(req) + "/v2.1/"}}});
    return JsonResponse(200, {{"versions", json::array({v20, v21})}});
  }
  if (parts[0] != "v2.1") {
    return FaultResponse(404, "The resource could not be found.");
  }
  if (parts.size() == 1) {
    if (req.method != "GET") return FaultResponse(405, "Method not allowed");
    return JsonResponse(200, {{"version", V21Doc(req)}});
  }
  return FaultResponse(404, "The resource could not be found.");
}

}  // namespace

ComputeApi::ComputeApi(Authenticator& auth, SharesApi& shares,
                       ServersApi& servers, ResourcesApi& resources)
    : auth_(auth), shares_(shares), servers_(servers), resources_(resources) {}

HttpResponse ComputeApi::Handle(const HttpRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  RequestContext ctx = NewRequestContext(req.Header("X-Openstack-Request-Id"));
  ScopedRequestId log_id(ctx.log_request_id());

  HttpResponse resp;
  try {
    resp = Route(req, ctx);
  } catch (const std::exception& e) {
    // A bug: the schemas are meant to keep every access in bounds.
    SP_LOG(Error) << "Unhandled exception serving " << req.method << " "
                  << RouteTemplate(req.path) << ": " << e.what();
    resp = FaultResponse(500, "");
  }
  // keystonemiddleware's 503 ({"error": ...}, a fixed text) stays in that
  // middleware's form, as a Nova deployment answers it.
  const bool middleware_error = resp.body.rfind("{\"error\":", 0) == 0;
  if (IsServerError(resp.status) && !middleware_error) {
    // The cause goes to the log; the caller gets a fixed message and the
    // request id to quote.
    SP_LOG(Error) << "Answering " << resp.status << " to " << req.method << " "
                  << RouteTemplate(req.path) << ": " << resp.body;
    resp = ServerErrorResponse(resp.status, ctx.request_id);
  }
  resp.SetHeader("x-openstack-request-id", ctx.request_id);
  resp.SetHeader("x-compute-request-id", ctx.request_id);
  const std::string v = VersionString(ctx.version);
  resp.SetHeader("OpenStack-API-Version", "compute " + v);
  resp.SetHeader("X-OpenStack-Nova-API-Version", v);
  resp.SetHeader("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  const MetricLabels route = {{"method", req.method},
                              {"route", RouteTemplate(req.path)}};
  MetricLabels with_status = route;
  with_status.emplace_back("status", std::to_string(resp.status));
  Metrics::Global().Increment("shareplane_api_requests_total", with_status);
  Metrics::Global().Observe("shareplane_api_request_duration_seconds",
                            with_status, micros / 1e6);
  SP_LOG(Info) << req.remote_addr << " \"" << req.method << " " << req.path
               << "\" status: " << resp.status << " len: " << resp.body.size()
               << " microversion: " << v << " time: " << micros / 1e6;
  return resp;
}

HttpResponse ComputeApi::FramingError(int status, const std::string& message) {
  const std::string request_id = NewRequestId();
  HttpResponse resp = status >= 500 ? ServerErrorResponse(status, request_id)
                                    : FaultResponse(status, message);
  resp.SetHeader("x-openstack-request-id", request_id);
  resp.SetHeader("x-compute-request-id", request_id);
  ScopedRequestId log_id(request_id);
  SP_LOG(Info) << "(unreadable request) status: " << status
               << " len: " << resp.body.size() << " " << message;
  Metrics::Global().Increment(
      "shareplane_api_requests_total",
      {{"method", "-"}, {"route", "-"}, {"status", std::to_string(status)}});
  return resp;
}

HttpResponse ComputeApi::Route(const HttpRequest& req, RequestContext& ctx) {
  std::vector<std::string> parts =
      absl::StrSplit(req.path, '/', absl::SkipEmpty());
  // Version discovery needs no token and no microversion.
  if (parts.empty() || parts[0] != "v2.1" || parts.size() == 1) {
    return VersionDocuments(req, parts);
  }

  auto version = ParseApiVersion(req);
  if (!version.ok()) {
    const bool out_of_range =
        version.status().code() == absl::StatusCode::kOutOfRange;
    return FaultResponse(out_of_range ? 406 : 400,
                         std::string(version.status().message()));
  }
  ctx.version = *version;
  if (absl::Status s = auth_.Authenticate(CredentialsFrom(req), ctx); !s.ok()) {
    return AuthRefusal(s, auth_.WwwAuthenticate());
  }
  // A project id after /v2.1 is accepted, as Nova does.
  if (parts.size() > 2 && parts[1] == ctx.project_id) {
    parts.erase(parts.begin() + 1);
  }
  const std::string& m = req.method;
  const size_t n = parts.size();
  if (parts[1] == "servers") return RouteServers(req, ctx, parts);
  if (parts[1] == "flavors") {
    if (n == 2) {
      if (m == "GET") return resources_.ListFlavors(ctx, req, false);
      if (m == "POST") return resources_.CreateFlavor(ctx, req);
      return MethodNotAllowed();
    }
    if (n == 3 && parts[2] == "detail") {
      if (m == "GET") return resources_.ListFlavors(ctx, req, true);
      return MethodNotAllowed();
    }
    if (n == 3) {
      if (m == "GET") return resources_.ShowFlavor(ctx, req, parts[2]);
      return MethodNotAllowed();
    }
    if (n == 4 && parts[3] == "os-extra_specs") {
      if (m == "GET") return resources_.ListExtraSpecs(ctx, req, parts[2]);
      if (m == "POST") return resources_.SetExtraSpecs(ctx, req, parts[2]);
      return MethodNotAllowed();
    }
    if (n == 5 && parts[3] == "os-extra_specs") {
      if (m == "GET" || m == "PUT" || m == "DELETE") {
        return resources_.ExtraSpec(ctx, req, parts[2], parts[4]);
      }
      return MethodNotAllowed();
    }
  }
  if (n == 2 && parts[1] == "os-services") {
    if (m == "GET") return resources_.ListServices(ctx, req);
    return MethodNotAllowed();
  }
  if (n == 3 && parts[1] == "os-services") {
    if (m == "PUT") return resources_.UpdateService(ctx, req, parts[2]);
    return MethodNotAllowed();
  }
  if (n == 2 && parts[1] == "os-migrations") {
    if (m == "GET") return resources_.ListMigrations(ctx, req);
    return MethodNotAllowed();
  }
  if (n == 3 && parts[1] == "os-hypervisors" && parts[2] == "detail") {
    if (m == "GET") return resources_.ListHypervisors(ctx, req);
    return MethodNotAllowed();
  }
  return FaultResponse(404, "The resource could not be found.");
}

HttpResponse ComputeApi::RouteServers(const HttpRequest& req,
                                      RequestContext& ctx,
                                      const std::vector<std::string>& parts) {
  const std::string& m = req.method;
  const size_t n = parts.size();
  if (n == 2) {
    if (m == "GET") return servers_.List(ctx, req, false);
    if (m == "POST") return servers_.Create(ctx, req);
    return MethodNotAllowed();
  }
  if (n == 3 && parts[2] == "detail") {
    if (m == "GET") return servers_.List(ctx, req, true);
    return MethodNotAllowed();
  }
  const std::string& id = parts[2];
  if (n == 3) {
    if (m == "GET") return servers_.Show(ctx, req, id);
    if (m == "DELETE") return servers_.Delete(ctx, req, id);
    return MethodNotAllowed();
  }
  if (n == 4 && parts[3] == "action") {
    if (m == "POST") return servers_.Action(ctx, req, id);
    return MethodNotAllowed();
  }
  if (parts[3] == "os-instance-actions") {
    if (n == 4 && m == "GET") return resources_.ListActions(ctx, req, id);
    if (n == 5 && m == "GET") {
      return resources_.ShowAction(ctx, req, id, parts[4]);
    }
    if (n <= 5) return MethodNotAllowed();
  }
  // Share routes exist from microversion 2.97 only.
  if (parts[3] == "shares" && ctx.version.AtLeast(2, 97)) {
    if (n == 4) {
      if (m == "GET") return shares_.List(ctx, req, id);
      if (m == "POST") return shares_.Attach(ctx, req, id);
      return MethodNotAllowed();
    }
    if (n == 5) {
      if (m == "GET") return shares_.Show(ctx, req, id, parts[4]);
      if (m == "DELETE") return shares_.Detach(ctx, req, id, parts[4]);
      return MethodNotAllowed();
    }
  }
  return FaultResponse(404, "The resource could not be found.");
}

}  // namespace shareplane
