#include "common/http/ops.h"

#include <nlohmann/json.hpp>

#include "common/core/metrics.h"

namespace shareplane {

std::optional<HttpResponse> ServeOps(const HttpRequest& request,
                                     const std::vector<HealthCheck>& checks) {
  if (request.path != "/healthcheck" && request.path != "/metrics") {
    return std::nullopt;
  }
  HttpResponse r;
  if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    return r;
  }
  if (request.path == "/metrics") {
    r.status = 200;
    r.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = Metrics::Global().Render();
    return r;
  }
  nlohmann::ordered_json results = nlohmann::ordered_json::object();
  bool ok = true;
  for (const HealthCheck& c : checks) {
    absl::Status s = c.check();
    results[c.name] = s.ok() ? std::string("OK") : std::string(s.message());
    ok = ok && s.ok();
  }
  r.status = ok ? 200 : 503;
  r.SetHeader("Content-Type", "application/json");
  r.body = nlohmann::ordered_json{{"status", ok ? "OK" : "FAIL"},
                                  {"checks", results}}
               .dump();
  return r;
}

}  // namespace shareplane
