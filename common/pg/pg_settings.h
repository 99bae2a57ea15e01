// The database's settings and operations hooks, read the same way by every
// daemon that reaches PostgreSQL.
#ifndef SHAREPLANE_COMMON_PG_PG_SETTINGS_H_
#define SHAREPLANE_COMMON_PG_PG_SETTINGS_H_

#include "common/core/config.h"
#include "common/core/health.h"
#include "common/pg/db.h"

namespace shareplane {

// [database] connection, max_pool_size, pool_timeout.
Database::Options DatabaseOptionsFrom(const Config& config);

// `SELECT 1` on the pool.
HealthCheck DatabaseHealthCheck(Database& db);

// Registers the outbox depth gauge (rows not yet published) on `db`.
void RegisterOutboxDepthMetric(Database& db);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_PG_PG_SETTINGS_H_
