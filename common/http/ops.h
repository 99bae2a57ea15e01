// The operations endpoints every daemon serves: GET /healthcheck (200, or
// 503 naming the dependencies that fail) and GET /metrics (Prometheus
// text), as oslo.middleware's healthcheck and a Prometheus exporter would.
#ifndef SHAREPLANE_COMMON_HTTP_OPS_H_
#define SHAREPLANE_COMMON_HTTP_OPS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/core/health.h"
#include "common/http/http.h"

namespace shareplane {

// The answer for /healthcheck and /metrics; nullopt for any other path.
// The health body is JSON: {"status": "OK"|"FAIL", "checks": {name:
// "OK"|reason}}.
std::optional<HttpResponse> ServeOps(const HttpRequest& request,
                                     const std::vector<HealthCheck>& checks);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_HTTP_OPS_H_
