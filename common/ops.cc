#include "common/ops.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/db.h"
#include "common/metrics.h"

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

HealthCheck DatabaseHealthCheck(Database& db) {
  return {"database", [&db] {
            return db.Read([](pqxx::transaction_base& w) {
              w.exec("SELECT 1");
              return absl::OkStatus();
            });
          }};
}

void RegisterOutboxDepthMetric(Database& db) {
  Metrics::Global().GaugeFunction(
      "shareplane_outbox_depth",
      "Outbox rows (tasks and notifications) not yet published", [&db] {
        double depth = NAN;
        (void)db.Read([&](pqxx::transaction_base& w) {
          depth =
              w.exec1("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0]
                  .as<double>();
          return absl::OkStatus();
        });
        return depth;
      });
}

void NotifySystemd(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract socket
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)sendto(fd, state.data(), state.size(), 0,
               reinterpret_cast<const sockaddr*>(&addr),
               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
}

}  // namespace shareplane
