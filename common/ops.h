// The operations endpoints every daemon serves: GET /healthcheck (200, or
// 503 naming the dependencies that fail) and GET /metrics (Prometheus
// text), as oslo.middleware's healthcheck and a Prometheus exporter would.
#ifndef SHAREPLANE_COMMON_OPS_H_
#define SHAREPLANE_COMMON_OPS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/http.h"

namespace shareplane {

class Database;

struct HealthCheck {
  std::string name;  // "database", "rabbitmq", "libvirt", ...
  std::function<absl::Status()> check;
};

// The answer for /healthcheck and /metrics; nullopt for any other path.
// The health body is JSON: {"status": "OK"|"FAIL", "checks": {name:
// "OK"|reason}}.
std::optional<HttpResponse> ServeOps(const HttpRequest& request,
                                     const std::vector<HealthCheck>& checks);

// `SELECT 1` on the pool.
HealthCheck DatabaseHealthCheck(Database& db);

// Registers the outbox depth gauge (rows not yet published) on `db`.
void RegisterOutboxDepthMetric(Database& db);

// Tells systemd (Type=notify) the daemon is ready or stopping, through
// $NOTIFY_SOCKET; does nothing without it.
void NotifySystemd(const std::string& state);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_OPS_H_
