// The scheduling inventory: flavors and compute hosts, and the rules read
// from them.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/pg/store.h"
#include "common/pg/store_sql.h"

namespace shareplane {

bool WantsHugePages(const Flavor& flavor) {
  auto it = flavor.extra_specs.find("hw:mem_page_size");
  return it != flavor.extra_specs.end() && it->second != "small";
}

bool IsHostUp(const ComputeHost& host, double service_down_time) {
  return !host.forced_down && host.heartbeat_age_seconds >= 0 &&
         host.heartbeat_age_seconds < service_down_time;
}

bool HasTrait(const ComputeHost& host, const std::string& trait) {
  return std::find(host.traits.begin(), host.traits.end(), trait) !=
         host.traits.end();
}
namespace {

using namespace store_sql;

ComputeHost HostFromRow(const pqxx::row& r) {
  ComputeHost h;
  h.hostname = Str(r["hostname"]);
  h.storage_ip = Str(r["storage_ip"]);
  h.agent_endpoint = Str(r["agent_endpoint"]);
  h.traits = ParseArray(Str(r["traits"]));
  h.libvirt_version = Str(r["libvirt_version"]);
  h.hypervisor_type = Str(r["hypervisor_type"]);
  h.hypervisor_version = Str(r["hypervisor_version"]);
  h.disabled = r["disabled"].as<bool>();
  h.forced_down = r["forced_down"].as<bool>();
  h.heartbeat_age_seconds = r["age"].is_null() ? -1 : r["age"].as<double>();
  h.memory_mb = r["memory_mb"].is_null() ? 0 : r["memory_mb"].as<int64_t>();
  h.vcpus = r["vcpus"].is_null() ? 0 : r["vcpus"].as<int>();
  if (!r["heartbeat"].is_null()) h.updated_at = Str(r["heartbeat"]);
  return h;
}

constexpr char kHostColumns[] =
    "hostname, storage_ip, agent_endpoint, traits, libvirt_version, "
    "hypervisor_type, hypervisor_version, disabled, forced_down, memory_mb, "
    "vcpus, "
    "EXTRACT(EPOCH FROM now() - last_heartbeat)::float8 AS age, "
    "to_char(last_heartbeat AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS heartbeat";

}  // namespace

void InsertFlavor(pqxx::transaction_base& w, const Flavor& f) {
  nlohmann::json specs(f.extra_specs);
  Exec(w,
       "INSERT INTO flavors (id, name, vcpus, ram_mb, disk_gb, extra_specs, "
       " ephemeral_gb, swap_mb, is_public, description) "
       "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, NULLIF($10, ''))",
       f.id, f.name, f.vcpus, f.ram_mb, f.disk_gb, specs.dump(), f.ephemeral_gb,
       f.swap_mb, f.is_public, f.description);
}

namespace {
constexpr char kFlavorColumns[] =
    "id, name, vcpus, ram_mb, disk_gb, extra_specs::text, ephemeral_gb, "
    "swap_mb, is_public, description";

Flavor FlavorFromRow(const pqxx::row& r) {
  Flavor f;
  f.id = Str(r[0]);
  f.name = Str(r[1]);
  f.vcpus = r[2].as<int>();
  f.ram_mb = r[3].as<int>();
  f.disk_gb = r[4].as<int>();
  const nlohmann::json specs = nlohmann::json::parse(Str(r[5]));
  for (auto& [k, v] : specs.items()) {
    f.extra_specs[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  f.ephemeral_gb = r[6].as<int>();
  f.swap_mb = r[7].as<int>();
  f.is_public = r[8].as<bool>();
  f.description = Str(r[9]);
  return f;
}
}  // namespace

std::optional<Flavor> GetFlavor(pqxx::transaction_base& w,
                                const std::string& id) {
  static const std::string sql =
      std::string("SELECT ") + kFlavorColumns + " FROM flavors WHERE id = $1";
  pqxx::result r = Prepared(w, "get_flavor", sql, id);
  if (r.empty()) return std::nullopt;
  return FlavorFromRow(r[0]);
}

std::vector<Flavor> ListFlavors(pqxx::transaction_base& w) {
  std::vector<Flavor> out;
  for (const auto& row : w.exec(std::string("SELECT ") + kFlavorColumns +
                                " FROM flavors ORDER BY ram_mb, id")) {
    out.push_back(FlavorFromRow(row));
  }
  return out;
}

void LockFlavor(pqxx::transaction_base& w, const std::string& id) {
  Exec(w, "SELECT 1 FROM flavors WHERE id = $1 FOR UPDATE", id);
}

void SetFlavorExtraSpecs(pqxx::transaction_base& w, const std::string& id,
                         const std::map<std::string, std::string>& specs) {
  Exec(w,
       "UPDATE flavors SET extra_specs = $2::jsonb, version = version + 1 "
       "WHERE id = $1",
       id, nlohmann::json(specs).dump());
}

void UpsertComputeHost(pqxx::transaction_base& w, const ComputeHost& h) {
  Exec(w,
       "INSERT INTO compute_hosts (hostname, storage_ip, agent_endpoint, "
       " traits, libvirt_version, hypervisor_type, hypervisor_version, "
       " memory_mb, vcpus, last_heartbeat) "
       "VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9, now()) "
       "ON CONFLICT (hostname) DO UPDATE SET storage_ip = EXCLUDED.storage_ip, "
       " agent_endpoint = EXCLUDED.agent_endpoint, traits = EXCLUDED.traits, "
       " libvirt_version = EXCLUDED.libvirt_version, "
       " hypervisor_type = EXCLUDED.hypervisor_type, "
       " hypervisor_version = EXCLUDED.hypervisor_version, "
       " memory_mb = EXCLUDED.memory_mb, vcpus = EXCLUDED.vcpus, "
       " last_heartbeat = now(), updated_at = now(), "
       " version = compute_hosts.version + 1",
       h.hostname, h.storage_ip, h.agent_endpoint, ArrayLiteral(h.traits),
       h.libvirt_version, h.hypervisor_type, h.hypervisor_version, h.memory_mb,
       h.vcpus);
}

std::optional<std::string> LockComputeHostAddress(pqxx::transaction_base& w,
                                                  const std::string& hostname,
                                                  bool exclusive) {
  pqxx::result r = Exec(w,
                        std::string("SELECT storage_ip FROM compute_hosts "
                                    "WHERE hostname = $1 FOR ") +
                            (exclusive ? "UPDATE" : "SHARE"),
                        hostname);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

int CountHostAddressUsers(pqxx::transaction_base& w,
                          const std::string& hostname,
                          const std::string& storage_ip) {
  pqxx::result r = Exec(
      w,
      "SELECT (SELECT count(*) FROM share_mappings m JOIN servers s ON "
      " s.uuid = m.server_uuid WHERE (s.host = $1 OR s.migration_host = $1) "
      " AND s.deleted_at IS NULL "
      " AND m.share_proto <> 'CEPHFS') + (SELECT count(*) FROM "
      " access_grants WHERE access_type = 'ip' AND (access_to = $2 OR "
      " access_to = $2 || '/32'))",
      hostname, storage_ip);
  return r[0][0].as<int>();
}

void SetComputeHostStorageIp(pqxx::transaction_base& w,
                             const std::string& hostname,
                             const std::string& storage_ip) {
  Exec(w,
       "UPDATE compute_hosts SET storage_ip = $2, updated_at = now() "
       "WHERE hostname = $1",
       hostname, storage_ip);
}

std::vector<AccessGrant> ListHostIpGrants(pqxx::transaction_base& w,
                                          const std::string& hostname,
                                          const std::string& old_ip) {
  std::vector<AccessGrant> out;
  for (const auto& row :
       Exec(w,
            "SELECT g.share_id, g.access_type, g.access_to, g.project_id, "
            " g.user_id FROM access_grants g WHERE g.access_type = 'ip' AND "
            " (g.access_to = $2 OR g.access_to = $2 || '/32' OR "
            "  (g.share_id IN (SELECT m.share_id FROM share_mappings m JOIN "
            "   servers s ON s.uuid = m.server_uuid WHERE s.host = $1 AND "
            "   m.share_proto <> 'CEPHFS') AND regexp_replace(g.access_to, "
            "   '/32$', '') NOT IN (SELECT storage_ip FROM compute_hosts))) "
            "ORDER BY g.share_id",
            hostname, old_ip)) {
    out.push_back(
        {Str(row[0]), Str(row[1]), Str(row[2]), Str(row[3]), Str(row[4])});
  }
  return out;
}

void SetHostShareAccessId(pqxx::transaction_base& w,
                          const std::string& hostname,
                          const std::string& share_id,
                          const std::string& access_id) {
  Exec(w,
       "UPDATE share_mappings m SET access_id = $3 FROM servers s WHERE "
       "s.uuid = m.server_uuid AND s.host = $1 AND m.share_id = $2 AND "
       "m.share_proto <> 'CEPHFS' AND m.access_id IS NOT NULL AND "
       "m.access_id <> ''",
       hostname, share_id, access_id);
}

bool TouchComputeHost(pqxx::transaction_base& w, const std::string& hostname) {
  pqxx::result r = Exec(
      w, "UPDATE compute_hosts SET last_heartbeat = now() WHERE hostname = $1",
      hostname);
  return r.affected_rows() == 1;
}

bool SetComputeHostDisabled(pqxx::transaction_base& w,
                            const std::string& hostname, bool disabled) {
  pqxx::result r =
      Exec(w, "UPDATE compute_hosts SET disabled = $2 WHERE hostname = $1",
           hostname, disabled);
  return r.affected_rows() == 1;
}

std::optional<ComputeHost> GetComputeHost(pqxx::transaction_base& w,
                                          const std::string& hostname) {
  pqxx::result r = Exec(w,
                        std::string("SELECT ") + kHostColumns +
                            " FROM compute_hosts WHERE hostname = $1",
                        hostname);
  if (r.empty()) return std::nullopt;
  return HostFromRow(r[0]);
}

std::vector<ComputeHost> ListComputeHosts(pqxx::transaction_base& w) {
  std::vector<ComputeHost> out;
  for (const auto& row : w.exec(std::string("SELECT ") + kHostColumns +
                                " FROM compute_hosts ORDER BY hostname")) {
    out.push_back(HostFromRow(row));
  }
  return out;
}

}  // namespace shareplane
