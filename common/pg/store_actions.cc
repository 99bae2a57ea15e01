// The instance actions and their events.
#include "common/pg/store.h"
#include "common/pg/store_sql.h"

namespace shareplane {

using namespace store_sql;

std::string LatestRequestId(pqxx::transaction_base& w,
                            const std::string& server_uuid) {
  pqxx::result r =
      Exec(w,
           "SELECT request_id FROM instance_actions WHERE server_uuid = $1 "
           "ORDER BY start_time DESC, id DESC LIMIT 1",
           server_uuid);
  return r.empty() ? "" : Str(r[0][0]);
}

int64_t InsertInstanceAction(pqxx::transaction_base& w,
                             const std::string& request_id,
                             const std::string& server_uuid,
                             const std::string& action,
                             const std::string& project_id,
                             const std::string& user_id) {
  pqxx::result r =
      Exec(w,
           "INSERT INTO instance_actions (request_id, server_uuid, action, "
           " project_id, user_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
           request_id, server_uuid, action, project_id, user_id);
  return r[0][0].as<int64_t>();
}

namespace {
// The event, with the server's host, on the action of `request_id`; with
// `once`, unless the action has an event of that name already.
void InsertActionEvent(pqxx::transaction_base& w,
                       const std::string& server_uuid,
                       const std::string& request_id, const std::string& event,
                       const std::string& result, const std::string& details,
                       bool once) {
  Exec(w,
       "INSERT INTO instance_action_events (action_id, event, finish_time, "
       " result, details, host) SELECT a.id, $3, now(), $4, NULLIF($5, ''), "
       " s.host FROM instance_actions a LEFT JOIN servers s "
       " ON s.uuid = a.server_uuid "
       "WHERE a.server_uuid = $1 AND a.request_id = $2 AND (NOT $6 OR NOT "
       " EXISTS (SELECT 1 FROM instance_action_events e "
       " WHERE e.action_id = a.id AND e.event = $3))",
       server_uuid, request_id, event, result, details, once);
}
}  // namespace

void RecordActionEvent(pqxx::transaction_base& w,
                       const std::string& server_uuid,
                       const std::string& request_id, const std::string& event,
                       const std::string& result, const std::string& details) {
  InsertActionEvent(w, server_uuid, request_id, event, result, details, false);
}

void RecordActionEventOnce(pqxx::transaction_base& w,
                           const std::string& server_uuid,
                           const std::string& request_id,
                           const std::string& event, const std::string& result,
                           const std::string& details) {
  InsertActionEvent(w, server_uuid, request_id, event, result, details, true);
}

namespace {
InstanceAction ActionFromRow(const pqxx::row& r) {
  InstanceAction a;
  a.request_id = Str(r["request_id"]);
  a.server_uuid = Str(r["server_uuid"]);
  a.action = Str(r["action"]);
  a.project_id = Str(r["project_id"]);
  a.user_id = Str(r["user_id"]);
  a.message = Str(r["message"]);
  a.start_time = Str(r["start"]);
  a.updated_at = Str(r["updated"]);
  return a;
}
const std::string& ActionColumns() {
  static const std::string* cols = new std::string(
      "id, request_id, server_uuid, action, project_id, user_id, message, " +
      IsoMicros("start_time") + " AS start, " + IsoMicros("updated_at") +
      " AS updated");
  return *cols;
}
}  // namespace

std::vector<InstanceAction> ListInstanceActions(
    pqxx::transaction_base& w, const std::string& server_uuid) {
  std::vector<InstanceAction> out;
  for (const auto& row :
       Exec(w,
            "SELECT " + ActionColumns() +
                " FROM instance_actions WHERE server_uuid = $1 "
                "ORDER BY start_time DESC, id DESC",
            server_uuid)) {
    out.push_back(ActionFromRow(row));
  }
  return out;
}

std::optional<InstanceAction> GetInstanceAction(pqxx::transaction_base& w,
                                                const std::string& server_uuid,
                                                const std::string& request_id) {
  pqxx::result r = Exec(
      w,
      "SELECT " + ActionColumns() +
          " FROM instance_actions WHERE server_uuid = $1 AND request_id = $2",
      server_uuid, request_id);
  if (r.empty()) return std::nullopt;
  InstanceAction a = ActionFromRow(r[0]);
  for (const auto& e :
       Exec(w,
            "SELECT event, " + IsoMicros("start_time") + ", " +
                IsoMicros("finish_time") +
                ", result, details, host FROM instance_action_events "
                "WHERE action_id = $1 ORDER BY id",
            r[0]["id"].as<int64_t>())) {
    a.events.push_back(
        {Str(e[0]), Str(e[1]), Str(e[2]), Str(e[3]), Str(e[4]), Str(e[5])});
  }
  return a;
}

}  // namespace shareplane
