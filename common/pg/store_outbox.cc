// The outbox, notification keys and recorded access grants.
#include "absl/strings/str_join.h"
#include "common/pg/store.h"
#include "common/pg/store_sql.h"

namespace shareplane {

using namespace store_sql;

void InsertOutbox(pqxx::transaction_base& w, const std::string& routing_key,
                  const std::string& payload, const std::string& request_id,
                  const std::string& exchange) {
  Exec(w,
       "INSERT INTO outbox (routing_key, payload, request_id, exchange) "
       "VALUES ($1, $2, $3, $4)",
       routing_key, pqxx::binarystring(payload), request_id, exchange);
  w.exec(std::string("NOTIFY ") + kOutboxChannel);
}

std::vector<OutboxRow> ClaimUnsentOutbox(pqxx::transaction_base& w, int limit) {
  // One relay at a time: rows then go out in the order their transactions
  // committed (a notification's .start before its .end), whichever process
  // relays them.
  Exec(
      w,
      "SELECT pg_advisory_xact_lock(hashtextextended('shareplane.outbox', 0))");
  std::vector<OutboxRow> out;
  for (const auto& row :
       Exec(w,
            "SELECT id, routing_key, payload, request_id, exchange FROM outbox "
            "WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit)) {
    OutboxRow o;
    o.id = row[0].as<int64_t>();
    o.routing_key = Str(row[1]);
    o.payload = pqxx::binarystring(row[2]).str();
    o.request_id = Str(row[3]);
    o.exchange = Str(row[4]);
    out.push_back(std::move(o));
  }
  return out;
}

void MarkOutboxSent(pqxx::transaction_base& w,
                    const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  // A sent row keeps what identifies it, not its body: a task's body
  // carries the caller's token.
  Exec(w,
       "UPDATE outbox SET sent_at = now(), payload = ''::bytea "
       "WHERE id = ANY($1::bigint[])",
       "{" + absl::StrJoin(ids, ",") + "}");
}

int PurgeSentOutbox(pqxx::transaction_base& w) {
  w.exec(
      "DELETE FROM notification_keys WHERE created_at < now() - interval "
      "'1 day'");
  return static_cast<int>(
      w.exec("DELETE FROM outbox WHERE sent_at < now() - interval '1 hour'")
          .affected_rows());
}

bool ClaimNotificationKey(pqxx::transaction_base& w, const std::string& key) {
  return Exec(w,
              "INSERT INTO notification_keys (key) VALUES ($1) "
              "ON CONFLICT DO NOTHING",
              key)
             .affected_rows() == 1;
}

void RecordAccessGrant(pqxx::transaction_base& w, const AccessGrant& g) {
  Exec(w,
       "INSERT INTO access_grants (share_id, access_type, access_to, "
       " project_id, user_id) VALUES ($1, $2, $3, $4, $5) "
       "ON CONFLICT DO NOTHING",
       g.share_id, g.access_type, g.access_to, g.project_id, g.user_id);
}

void ForgetAccessGrant(pqxx::transaction_base& w, const std::string& share_id,
                       const std::string& access_type,
                       const std::string& access_to) {
  Exec(w,
       "DELETE FROM access_grants WHERE share_id = $1 AND access_type = $2 "
       " AND access_to = $3",
       share_id, access_type, access_to);
}

namespace {

// True for a grant `g` no mapping needs: NFS ("ip") with no mapping of the
// share on a host with that storage ip, CephFS ("cephx") with no CephFS
// mapping of the share at all.
constexpr char kGrantUnused[] =
    " NOT EXISTS (SELECT 1 FROM share_mappings m JOIN servers s "
    " ON s.uuid = m.server_uuid LEFT JOIN compute_hosts h "
    " ON h.hostname IN (s.host, s.migration_host) "
    " WHERE m.share_id = g.share_id AND "
    " ((g.access_type = 'ip' AND h.storage_ip = g.access_to) OR "
    " (g.access_type = 'cephx' AND m.share_proto = 'CEPHFS'))) ";

}  // namespace

bool ForgetAccessGrantIfUnused(pqxx::transaction_base& w,
                               const AccessGrant& grant) {
  return Exec(w,
              std::string("DELETE FROM access_grants g WHERE g.share_id = $1 "
                          " AND g.access_type = $2 AND g.access_to = $3 AND") +
                  kGrantUnused,
              grant.share_id, grant.access_type, grant.access_to)
             .affected_rows() == 1;
}

std::vector<AccessGrant> ListUnusedAccessGrants(pqxx::transaction_base& w,
                                                int older_than_seconds) {
  std::vector<AccessGrant> out;
  for (const auto& row :
       Exec(w,
            std::string(
                "SELECT g.share_id, g.access_type, g.access_to, g.project_id, "
                " g.user_id FROM access_grants g WHERE g.created_at < now() - "
                " make_interval(secs => $1) AND") +
                kGrantUnused + "ORDER BY g.created_at LIMIT 500",
            older_than_seconds)) {
    out.push_back(
        {Str(row[0]), Str(row[1]), Str(row[2]), Str(row[3]), Str(row[4])});
  }
  return out;
}

}  // namespace shareplane
