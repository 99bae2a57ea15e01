#include "common/pg/pg_settings.h"

#include <cmath>

#include "common/core/metrics.h"

namespace shareplane {

Database::Options DatabaseOptionsFrom(const Config& config) {
  Database::Options o;
  o.conninfo =
      config.GetString("database", "connection",
                       "postgresql://shareplane@127.0.0.1:5432/shareplane");
  o.pool_size = config.GetInt("database", "max_pool_size", 8);
  o.acquire_timeout = std::chrono::milliseconds(
      1000 * config.GetInt("database", "pool_timeout", 10));
  return o;
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

}  // namespace shareplane
