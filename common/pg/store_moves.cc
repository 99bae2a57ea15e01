// Servers that move (BEYOND.md section 4): Nova's migration records and
// the two-host placement of a move in flight.
#include "common/pg/store.h"
#include "common/pg/store_sql.h"

namespace shareplane {

using namespace store_sql;

namespace {

const std::string& MigrationColumns() {
  static const std::string* cols = new std::string(
      "id, uuid, server_uuid, migration_type, source_compute, dest_compute, "
      "old_flavor_id, new_flavor_id, status, stop_after, project_id, "
      "user_id, " +
      IsoMicros("created_at") + " AS created, " + IsoMicros("updated_at") +
      " AS updated");
  return *cols;
}

ServerMigration MigrationFromRow(const pqxx::row& r) {
  ServerMigration m;
  m.id = r["id"].as<int64_t>();
  m.uuid = Str(r["uuid"]);
  m.server_uuid = Str(r["server_uuid"]);
  m.migration_type = Str(r["migration_type"]);
  m.source_compute = Str(r["source_compute"]);
  m.dest_compute = Str(r["dest_compute"]);
  m.old_flavor_id = Str(r["old_flavor_id"]);
  m.new_flavor_id = Str(r["new_flavor_id"]);
  m.status = Str(r["status"]);
  m.stop_after = r["stop_after"].as<bool>();
  m.project_id = Str(r["project_id"]);
  m.user_id = Str(r["user_id"]);
  m.created_at = Str(r["created"]);
  m.updated_at = Str(r["updated"]);
  return m;
}

}  // namespace

int64_t InsertMigration(pqxx::transaction_base& w, const ServerMigration& m) {
  pqxx::result r =
      Exec(w,
           "INSERT INTO migrations (uuid, server_uuid, migration_type, "
           " source_compute, dest_compute, old_flavor_id, new_flavor_id, "
           " status, stop_after, project_id, user_id) VALUES ($1, $2, $3, $4, "
           " $5, $6, $7, $8, $9, $10, $11) RETURNING id",
           m.uuid, m.server_uuid, m.migration_type, m.source_compute,
           m.dest_compute, m.old_flavor_id, m.new_flavor_id, m.status,
           m.stop_after, m.project_id, m.user_id);
  return r[0][0].as<int64_t>();
}

std::optional<ServerMigration> GetServerMigration(
    pqxx::transaction_base& w, const std::string& server_uuid,
    const std::vector<std::string>& statuses) {
  pqxx::result r =
      Exec(w,
           "SELECT " + MigrationColumns() +
               " FROM migrations WHERE server_uuid = $1 AND "
               " status = ANY($2::text[]) ORDER BY id DESC LIMIT 1",
           server_uuid, ArrayLiteral(statuses));
  if (r.empty()) return std::nullopt;
  return MigrationFromRow(r[0]);
}

bool SetMigrationStatus(pqxx::transaction_base& w, int64_t id,
                        const std::string& from, const std::string& to) {
  return Exec(w,
              "UPDATE migrations SET status = $3, updated_at = now() "
              "WHERE id = $1 AND status = $2",
              id, from, to)
             .affected_rows() == 1;
}

std::vector<std::string> TouchStaleConfirms(pqxx::transaction_base& w,
                                            int stale_seconds) {
  std::vector<std::string> out;
  for (const auto& row :
       Exec(w,
            "UPDATE migrations SET updated_at = now() WHERE id IN (SELECT id "
            " FROM migrations WHERE status = 'confirming' AND updated_at < "
            " now() - make_interval(secs => $1) ORDER BY updated_at LIMIT 500) "
            "RETURNING server_uuid",
            stale_seconds)) {
    out.push_back(Str(row[0]));
  }
  return out;
}

std::vector<ServerMigration> ListMigrations(pqxx::transaction_base& w,
                                            const std::string& server_uuid,
                                            int limit) {
  std::vector<ServerMigration> out;
  for (const auto& row :
       Exec(w,
            "SELECT " + MigrationColumns() +
                " FROM migrations WHERE ($1 = '' OR server_uuid::text = $1) "
                " ORDER BY id DESC LIMIT $2",
            server_uuid, limit)) {
    out.push_back(MigrationFromRow(row));
  }
  return out;
}

bool UpdateServerMove(pqxx::transaction_base& w, const std::string& uuid,
                      int64_t expected_version, const std::string& vm_state,
                      const std::string& task_state, int power_state,
                      const ServerPlacement& p) {
  return Exec(w,
              "UPDATE servers SET vm_state = $3, task_state = NULLIF($4, ''), "
              " power_state = $5, host = NULLIF($6, ''), "
              " migration_host = NULLIF($7, ''), flavor_id = $8, "
              " migration_flavor_id = NULLIF($9, ''), updated_at = now(), "
              " version = version + 1 "
              "WHERE uuid = $1 AND version = $2 AND deleted_at IS NULL",
              uuid, expected_version, vm_state, task_state, power_state, p.host,
              p.migration_host, p.flavor_id, p.migration_flavor_id)
             .affected_rows() == 1;
}

int CompleteEvacuations(pqxx::transaction_base& w,
                        const std::string& server_uuid,
                        const std::string& source) {
  return static_cast<int>(
      Exec(w,
           "UPDATE migrations SET status = 'completed', updated_at = now() "
           "WHERE server_uuid::text = $1 AND source_compute = $2 AND "
           " migration_type = 'evacuation' AND status = 'done'",
           server_uuid, source)
          .affected_rows());
}

bool SetComputeHostForcedDown(pqxx::transaction_base& w,
                              const std::string& hostname, bool forced_down) {
  return Exec(w,
              "UPDATE compute_hosts SET forced_down = $2, updated_at = now() "
              "WHERE hostname = $1",
              hostname, forced_down)
             .affected_rows() == 1;
}

}  // namespace shareplane
