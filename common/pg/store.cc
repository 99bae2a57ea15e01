// Servers and their share mappings.
#include "common/pg/store.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/pg/store_sql.h"

namespace shareplane {

namespace {

using namespace store_sql;

const std::string& ServerColumns() {
  static const std::string* cols = new std::string(
      "uuid, name, project_id, user_id, flavor_id, host, vm_state, "
      "task_state, power_state, version, image_ref, availability_zone, "
      "pinned_availability_zone, migration_host, migration_flavor_id, " +
      IsoMicros("launched_at") + " AS launched, " + Iso("created_at") +
      " AS created, " + Iso("updated_at") + " AS updated");
  return *cols;
}

Server ServerFromRow(const pqxx::row& r) {
  Server s;
  s.uuid = Str(r["uuid"]);
  s.name = Str(r["name"]);
  s.project_id = Str(r["project_id"]);
  s.user_id = Str(r["user_id"]);
  s.flavor_id = Str(r["flavor_id"]);
  s.host = Str(r["host"]);
  s.vm_state = Str(r["vm_state"]);
  s.task_state = Str(r["task_state"]);
  s.power_state = r["power_state"].as<int>();
  s.version = r["version"].as<int64_t>();
  s.image_ref = Str(r["image_ref"]);
  s.availability_zone = Str(r["availability_zone"]);
  s.pinned_availability_zone = Str(r["pinned_availability_zone"]);
  s.migration_host = Str(r["migration_host"]);
  s.migration_flavor_id = Str(r["migration_flavor_id"]);
  s.launched_at = Str(r["launched"]);
  s.created_at = Str(r["created"]);
  s.updated_at = Str(r["updated"]);
  return s;
}

constexpr char kMappingColumns[] =
    "uuid, server_uuid, share_id, tag, status, share_proto, export_location, "
    "access_id, error_message, version, access_level";

ShareMapping MappingFromRow(const pqxx::row& r) {
  ShareMapping m;
  m.uuid = Str(r["uuid"]);
  m.server_uuid = Str(r["server_uuid"]);
  m.share_id = Str(r["share_id"]);
  m.tag = Str(r["tag"]);
  m.status = Str(r["status"]);
  m.share_proto = Str(r["share_proto"]);
  m.export_location = Str(r["export_location"]);
  m.access_id = Str(r["access_id"]);
  m.error_message = Str(r["error_message"]);
  m.version = r["version"].as<int64_t>();
  m.access_level = Str(r["access_level"]);
  return m;
}

}  // namespace

void InsertServer(pqxx::transaction_base& w, const Server& s) {
  Exec(w,
       "INSERT INTO servers (uuid, name, project_id, user_id, flavor_id, host, "
       " vm_state, task_state, power_state, image_ref, "
       " pinned_availability_zone) "
       "VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, NULLIF($8, ''), $9, "
       " $10, NULLIF($11, ''))",
       s.uuid, s.name, s.project_id, s.user_id, s.flavor_id, s.host, s.vm_state,
       s.task_state, s.power_state, s.image_ref, s.pinned_availability_zone);
}

std::optional<Server> GetServer(pqxx::transaction_base& w,
                                const std::string& uuid) {
  static const std::string sql =
      "SELECT " + ServerColumns() +
      " FROM servers WHERE uuid = $1::uuid AND deleted_at IS NULL";
  pqxx::result r = Prepared(w, "get_server", sql, uuid);
  if (r.empty()) return std::nullopt;
  return ServerFromRow(r[0]);
}

std::vector<Server> ListServers(pqxx::transaction_base& w,
                                const std::string& project_id) {
  std::vector<Server> out;
  for (const auto& row :
       Exec(w,
            "SELECT " + ServerColumns() +
                " FROM servers WHERE deleted_at IS NULL AND ($1 = '' OR "
                "project_id = $1) ORDER BY created_at DESC, uuid",
            project_id)) {
    out.push_back(ServerFromRow(row));
  }
  return out;
}

std::vector<Server> ListServersOnHost(pqxx::transaction_base& w,
                                      const std::string& host) {
  std::vector<Server> out;
  for (const auto& row : Exec(w,
                              "SELECT " + ServerColumns() +
                                  " FROM servers WHERE deleted_at IS NULL AND "
                                  "host = $1 ORDER BY uuid",
                              host)) {
    out.push_back(ServerFromRow(row));
  }
  return out;
}

bool UpdateServerState(pqxx::transaction_base& w, const std::string& uuid,
                       int64_t expected_version, const std::string& vm_state,
                       const std::string& task_state, int power_state) {
  pqxx::result r =
      Exec(w,
           "UPDATE servers SET vm_state = $3, task_state = NULLIF($4, ''), "
           " power_state = $5, updated_at = now(), version = version + 1, "
           " launched_at = CASE WHEN $3 = 'active' THEN COALESCE(launched_at, "
           " now()) ELSE launched_at END "
           "WHERE uuid = $1 AND version = $2 AND deleted_at IS NULL",
           uuid, expected_version, vm_state, task_state, power_state);
  return r.affected_rows() == 1;
}

bool PlaceServer(pqxx::transaction_base& w, const std::string& uuid,
                 int64_t expected_version, const std::string& host) {
  pqxx::result r =
      Exec(w,
           "UPDATE servers SET host = NULLIF($3, ''), updated_at = now(), "
           " version = version + 1 "
           "WHERE uuid = $1 AND version = $2 AND deleted_at IS NULL",
           uuid, expected_version, host);
  return r.affected_rows() == 1;
}

void SetShareMappingAccessId(pqxx::transaction_base& w, const std::string& uuid,
                             const std::string& access_id) {
  Exec(w,
       "UPDATE share_mappings SET access_id = NULLIF($2, '') WHERE uuid = $1",
       uuid, access_id);
}

bool StartServerRebuild(pqxx::transaction_base& w, const std::string& uuid,
                        int64_t expected_version, const std::string& image_ref,
                        const std::string& name) {
  pqxx::result r =
      Exec(w,
           "UPDATE servers SET task_state = 'rebuilding', image_ref = $3, "
           " name = COALESCE(NULLIF($4, ''), name), updated_at = now(), "
           " version = version + 1 "
           "WHERE uuid = $1 AND version = $2 AND deleted_at IS NULL",
           uuid, expected_version, image_ref, name);
  return r.affected_rows() == 1;
}

bool MarkServerDeleted(pqxx::transaction_base& w, const std::string& uuid,
                       int64_t expected_version) {
  pqxx::result r =
      Exec(w,
           "UPDATE servers SET vm_state = 'deleted', task_state = NULL, "
           " power_state = 0, migration_host = NULL, deleted_at = now(), "
           " updated_at = now(), "
           " version = version + 1 WHERE uuid = $1 AND version = $2 "
           " AND deleted_at IS NULL",
           uuid, expected_version);
  return r.affected_rows() == 1;
}

std::optional<std::string> PickHost(pqxx::transaction_base& w,
                                    const Flavor& flavor,
                                    const std::vector<std::string>& required,
                                    int up_seconds, double ram_ratio,
                                    double cpu_ratio,
                                    const std::vector<std::string>& exclude,
                                    const std::string& only) {
  static const std::string used =
      "LEFT JOIN LATERAL (SELECT COALESCE(sum(f.ram_mb), 0) AS ram, "
      "  COALESCE(sum(f.vcpus), 0) AS cpus FROM servers s JOIN flavors f "
      "  ON f.id = CASE WHEN s.host = h.hostname THEN s.flavor_id "
      "  ELSE s.migration_flavor_id END WHERE (s.host = h.hostname OR "
      "  s.migration_host = h.hostname) AND s.deleted_at IS NULL) used ON "
      "true ";
  static const std::string fits =
      "used.ram + $1 <= h.memory_mb * $3::float8 "
      "AND used.cpus + $2 <= h.vcpus * $4::float8 ";
  std::vector<std::string> lost = exclude;
  // Pick, lock the host's row, then check the room again: a placement
  // racing for the same host holds that lock until it commits, so the
  // second check sees its server. A host that filled up meanwhile is left
  // out and the next one tried.
  for (int attempt = 0; attempt < 16; ++attempt) {
    pqxx::result r = Exec(
        w,
        "SELECT h.hostname FROM compute_hosts h " + used +
            "WHERE NOT h.disabled AND NOT h.forced_down AND "
            "h.last_heartbeat > now() - "
            "make_interval(secs => $5) AND h.traits @> $6::text[] "
            "AND NOT (h.hostname = ANY($7::text[])) AND "
            "($8 = '' OR h.hostname = $8) AND " +
            fits +
            "ORDER BY h.memory_mb * $3::float8 - used.ram DESC, h.hostname "
            "LIMIT 1",
        flavor.ram_mb, flavor.vcpus, ram_ratio, cpu_ratio, up_seconds,
        ArrayLiteral(required), ArrayLiteral(lost), only);
    if (r.empty()) return std::nullopt;
    std::string host = Str(r[0][0]);
    Exec(w, "SELECT 1 FROM compute_hosts WHERE hostname = $1 FOR UPDATE", host);
    pqxx::result again =
        Exec(w,
             "SELECT 1 FROM compute_hosts h " + used +
                 "WHERE h.hostname = $5 AND " + fits,
             flavor.ram_mb, flavor.vcpus, ram_ratio, cpu_ratio, host);
    if (!again.empty()) return host;
    lost.push_back(host);
  }
  return std::nullopt;
}

void InsertShareMapping(pqxx::transaction_base& w, const ShareMapping& m) {
  Exec(w,
       "INSERT INTO share_mappings (uuid, server_uuid, share_id, tag, status, "
       " share_proto, export_location, access_level) "
       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
       m.uuid, m.server_uuid, m.share_id, m.tag, m.status, m.share_proto,
       m.export_location, m.access_level.empty() ? "rw" : m.access_level);
}

std::optional<ShareMapping> GetShareMapping(pqxx::transaction_base& w,
                                            const std::string& uuid) {
  pqxx::result r = Exec(w,
                        std::string("SELECT ") + kMappingColumns +
                            " FROM share_mappings WHERE uuid = $1",
                        uuid);
  if (r.empty()) return std::nullopt;
  return MappingFromRow(r[0]);
}

std::optional<ShareMapping> GetShareMappingByShare(
    pqxx::transaction_base& w, const std::string& server_uuid,
    const std::string& share_id) {
  pqxx::result r =
      Exec(w,
           std::string("SELECT ") + kMappingColumns +
               " FROM share_mappings WHERE server_uuid = $1 AND share_id = $2",
           server_uuid, share_id);
  if (r.empty()) return std::nullopt;
  return MappingFromRow(r[0]);
}

std::vector<ShareMapping> ListShareMappings(pqxx::transaction_base& w,
                                            const std::string& server_uuid) {
  static const std::string sql = std::string("SELECT ") + kMappingColumns +
                                 " FROM share_mappings WHERE server_uuid = $1 "
                                 "ORDER BY created_at, uuid";
  std::vector<ShareMapping> out;
  const pqxx::result rows =
      Prepared(w, "list_share_mappings", sql, server_uuid);
  for (const auto& row : rows) out.push_back(MappingFromRow(row));
  return out;
}

std::optional<std::pair<std::string, std::vector<ShareMapping>>>
GetServerProjectAndMappings(pqxx::transaction_base& w,
                            const std::string& server_uuid) {
  static const std::string sql =
      "SELECT s.project_id, m.uuid, m.server_uuid, m.share_id, m.tag, "
      " m.status, m.share_proto, m.export_location, m.access_id, "
      " m.error_message, m.version, m.access_level FROM servers s "
      " LEFT JOIN share_mappings m "
      " ON m.server_uuid = s.uuid WHERE s.uuid = $1::uuid "
      " AND s.deleted_at IS NULL ORDER BY m.created_at, m.uuid";
  const pqxx::result rows =
      Prepared(w, "server_project_and_mappings", sql, server_uuid);
  if (rows.empty()) return std::nullopt;
  std::pair<std::string, std::vector<ShareMapping>> out;
  out.first = Str(rows[0][0]);
  for (const auto& row : rows) {
    if (!row["uuid"].is_null()) out.second.push_back(MappingFromRow(row));
  }
  return out;
}

bool UpdateShareMappingStatus(pqxx::transaction_base& w,
                              const std::string& uuid, int64_t expected_version,
                              const std::string& status,
                              const std::string& access_id,
                              const std::string& error_message) {
  pqxx::result r =
      Exec(w,
           "UPDATE share_mappings SET status = $3, "
           " access_id = COALESCE(NULLIF($4, ''), access_id), "
           " error_message = NULLIF($5, ''), updated_at = now(), "
           " version = version + 1 WHERE uuid = $1 AND version = $2",
           uuid, expected_version, status, access_id, error_message);
  return r.affected_rows() == 1;
}

bool DeleteShareMapping(pqxx::transaction_base& w, const std::string& uuid,
                        int64_t expected_version) {
  pqxx::result r =
      Exec(w, "DELETE FROM share_mappings WHERE uuid = $1 AND version = $2",
           uuid, expected_version);
  return r.affected_rows() == 1;
}

RuleUsers OtherRuleUsers(pqxx::transaction_base& w, const std::string& share_id,
                         const std::string& mapping_uuid,
                         const std::string& host, bool same_host_only) {
  pqxx::result r = Exec(
      w,
      "SELECT count(*), count(*) FILTER (WHERE m.status = 'active'), "
      " max(m.access_level) FROM share_mappings m JOIN servers s "
      " ON s.uuid = m.server_uuid WHERE m.share_id = $1 AND m.uuid::text <> $2 "
      " AND (s.host IS NOT NULL OR s.migration_host IS NOT NULL) "
      " AND (NOT $4 OR s.host = $3 OR s.migration_host = $3)",
      share_id, mapping_uuid, host, same_host_only);
  RuleUsers users;
  users.count = r[0][0].as<int>();
  users.active = r[0][1].as<int>();
  // 'rw' > 'ro' as text: the highest level in use.
  users.level = r[0][2].is_null() ? "" : r[0][2].c_str();
  return users;
}

void LockShareAccess(pqxx::transaction_base& w, const std::string& share_id) {
  Exec(w, "SELECT pg_advisory_xact_lock(hashtextextended($1, 42))", share_id);
}

std::vector<ShareMapping> ListStaleShareMappings(pqxx::transaction_base& w,
                                                 int stale_seconds) {
  std::vector<ShareMapping> out;
  for (const auto& row :
       Exec(w,
            std::string("SELECT ") + kMappingColumns +
                " FROM share_mappings WHERE status IN ('attaching', "
                "'detaching') AND updated_at < now() - make_interval(secs => "
                "$1) ORDER BY updated_at LIMIT 500",
            stale_seconds)) {
    out.push_back(MappingFromRow(row));
  }
  return out;
}

std::vector<Server> ListStaleServers(pqxx::transaction_base& w,
                                     int stale_seconds) {
  std::vector<Server> out;
  for (const auto& row :
       Exec(w,
            "SELECT " + ServerColumns() +
                " FROM servers WHERE deleted_at IS NULL AND task_state IS NOT "
                "NULL AND updated_at < now() - make_interval(secs => $1) "
                "ORDER BY updated_at LIMIT 500",
            stale_seconds)) {
    out.push_back(ServerFromRow(row));
  }
  return out;
}

void TouchShareMapping(pqxx::transaction_base& w, const std::string& uuid) {
  Exec(w, "UPDATE share_mappings SET updated_at = now() WHERE uuid = $1", uuid);
}

void TouchServer(pqxx::transaction_base& w, const std::string& uuid) {
  Exec(w, "UPDATE servers SET updated_at = now() WHERE uuid = $1", uuid);
}

}  // namespace shareplane
