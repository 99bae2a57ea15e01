#include "conductor/move_steps.h"

#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "conductor/agent_client.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

ComputeHost HostOrName(pqxx::transaction_base& w, const std::string& name) {
  if (auto h = GetComputeHost(w, name)) return *h;
  ComputeHost h;
  h.hostname = name;
  return h;
}

}  // namespace

absl::StatusOr<std::optional<Move>> LoadMove(
    WorkflowDeps& deps, const task::v1::Task& task,
    const std::set<std::string>& task_states,
    const std::vector<std::string>& statuses, const std::string& event,
    const std::string& notification) {
  std::optional<Move> out;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    auto server = GetServer(w, task.server_uuid());
    std::optional<ServerMigration> migration;
    if (server && task_states.count(server->task_state)) {
      migration = GetServerMigration(w, server->uuid, statuses);
    }
    if (!migration) {
      RecordServerOvertaken(w, task, server, event);
      return absl::OkStatus();
    }
    Move mv;
    mv.l.server = *server;
    if (!server->host.empty()) mv.l.host = HostOrName(w, server->host);
    mv.l.flavor = GetFlavor(w, server->flavor_id);
    mv.l.mappings = ListShareMappings(w, server->uuid);
    mv.migration = *migration;
    mv.source = HostOrName(w, migration->source_compute);
    mv.dest = HostOrName(w, migration->dest_compute);
    mv.old_flavor = GetFlavor(w, migration->old_flavor_id);
    mv.new_flavor = GetFlavor(w, migration->new_flavor_id);
    if (!notification.empty()) {
      Notify(w, deps.options.notifications, notification + ".start", task,
             mv.l.server, mv.l.flavor, "", "");
    }
    out = std::move(mv);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Advance(WorkflowDeps& deps, const task::v1::Task& task, Move& mv,
                     const std::string& task_state, const std::string& status,
                     const std::string& event, const std::string& done,
                     const std::string& next) {
  const Server& s = mv.l.server;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (!UpdateServerState(w, s.uuid, s.version, s.vm_state, task_state,
                           s.power_state) ||
        !SetMigrationStatus(w, mv.migration.id, mv.migration.status, status)) {
      return absl::AbortedError(
          absl::StrCat("Server ", s.uuid, " changed while being moved"));
    }
    RecordActionEventOnce(w, s.uuid, task.request_id(), event, "Success", "");
    auto now = GetServer(w, s.uuid);
    if (now && !done.empty()) {
      Notify(w, deps.options.notifications, done + ".end", task, *now,
             mv.l.flavor, "", "");
    }
    if (now && !next.empty()) {
      Notify(w, deps.options.notifications, next + ".start", task, *now,
             mv.l.flavor, "", "");
    }
    return absl::OkStatus();
  }));
  ++mv.l.server.version;
  mv.l.server.task_state = task_state;
  mv.migration.status = status;
  return absl::OkStatus();
}

absl::Status GrantDestination(WorkflowDeps& deps, const task::v1::Task& task,
                              const Move& mv) {
  for (const ShareMapping& m : mv.l.mappings) {
    if (!kMovedShares.count(m.status)) continue;
    auto rule = GrantAccess(deps, task, m, mv.l.server, mv.dest);
    if (!rule.ok()) {
      return absl::Status(rule.status().code(),
                          absl::StrCat("Failed to grant ", mv.dest.hostname,
                                       " access to share '", m.share_id,
                                       "': ", rule.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::Status AgentStep(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kUnavailable) return s;
  return absl::FailedPreconditionError(s.message());
}

absl::StatusOr<agent::v1::ServerSpec> SpecOn(
    WorkflowDeps& deps, const task::v1::Task& task, const Move& mv,
    const ComputeHost& host, const std::optional<Flavor>& flavor) {
  Loaded l = mv.l;
  l.host = host;
  l.flavor = flavor;
  return BuildSpec(deps, task, l, kMovedShares);
}

absl::Status ReleaseHostRules(WorkflowDeps& deps, const task::v1::Task& task,
                              const Move& mv, const ComputeHost& host) {
  for (ShareMapping m : mv.l.mappings) {
    if (m.share_proto == "CEPHFS") continue;
    m.access_id.clear();
    SessionLock share_lock(deps.db, kShareLockSpace, m.share_id);
    SP_RETURN_IF_ERROR(share_lock.Verify());
    absl::Status r = RevokeAccessIfUnused(deps, task, m, host);
    if (!r.ok()) {
      return absl::Status(
          r.code(),
          absl::StrCat("Failed to revoke ", host.hostname,
                       "'s access to share '", m.share_id, "': ", r.message()));
    }
    SP_RETURN_IF_ERROR(share_lock.Verify());
  }
  return absl::OkStatus();
}

void ClearAccessIds(pqxx::transaction_base& w,
                    const std::vector<ShareMapping>& mappings) {
  for (const ShareMapping& m : mappings) {
    if (m.share_proto != "CEPHFS") SetShareMappingAccessId(w, m.uuid, "");
  }
}

absl::Status RollBack(WorkflowDeps& deps, const task::v1::Task& task,
                      const Move& mv, bool touched_source,
                      const std::string& failed_status,
                      const std::string& reason, const std::string& event) {
  // Best effort: what stays behind is the host audit's (a domain of a
  // server not on that host) and the rule audit's (a grant no mapping
  // uses) once the server no longer holds the destination.
  if (touched_source) {
    if (absl::Status s =
            deps.agents.DeleteServer(mv.dest, mv.l.server.uuid).status();
        !s.ok()) {
      SP_LOG(Warning) << "Rolling back: server " << mv.l.server.uuid
                      << " could not be removed from " << mv.dest.hostname
                      << ": " << s.message();
    }
  }
  if (absl::Status s = ReleaseHostRules(deps, task, mv, mv.dest); !s.ok()) {
    SP_LOG(Warning) << "Rolling back: " << s.message();
  }
  const Server& s = mv.l.server;
  return deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    ServerPlacement p{mv.source.hostname, "", mv.migration.old_flavor_id, ""};
    if (!UpdateServerMove(w, s.uuid, s.version,
                          touched_source ? "error" : s.vm_state, "",
                          touched_source ? kShutdown : s.power_state, p)) {
      RecordActionEventOnce(w, s.uuid, task.request_id(), event, "Error",
                            absl::StrCat(reason,
                                         "; the server was taken over "
                                         "meanwhile"));
      return absl::OkStatus();
    }
    SetMigrationStatus(w, mv.migration.id, mv.migration.status, failed_status);
    RecordActionEvent(w, s.uuid, task.request_id(), event, "Error", reason);
    return absl::OkStatus();
  });
}

absl::Status Unconfirm(WorkflowDeps& deps, const task::v1::Task& task,
                       const Move& mv, const std::string& event,
                       const std::string& reason) {
  const Server& s = mv.l.server;
  return deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (UpdateServerState(w, s.uuid, s.version, "resized", "", s.power_state)) {
      SetMigrationStatus(w, mv.migration.id, mv.migration.status, "finished");
    }
    RecordActionEvent(w, s.uuid, task.request_id(), event, "Error", reason);
    return absl::OkStatus();
  });
}

absl::Status Settle(WorkflowDeps& deps, const task::v1::Task& task,
                    const Move& mv, const std::string& host,
                    const std::string& flavor_id, const std::string& status,
                    const std::string& event, const std::string& notification,
                    const std::string& error, const std::string& note) {
  const Server& s = mv.l.server;
  const bool running = s.power_state == kRunning;
  const std::string vm_state = !error.empty() ? "error"
                               : running      ? "active"
                                              : "stopped";
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (!UpdateServerMove(w, s.uuid, s.version, vm_state, "",
                          error.empty() ? s.power_state : kShutdown,
                          {host, "", flavor_id, ""})) {
      RecordActionEventOnce(
          w, s.uuid, task.request_id(), event, "Error",
          "The server was taken over meanwhile; its move ended there");
      return absl::OkStatus();
    }
    SetMigrationStatus(w, mv.migration.id, mv.migration.status, status);
    ClearAccessIds(w, mv.l.mappings);
    RecordActionEvent(w, s.uuid, task.request_id(), event,
                      error.empty() ? "Success" : "Error",
                      error.empty() ? note : error);
    if (auto now = GetServer(w, s.uuid);
        now && error.empty() && !notification.empty()) {
      Notify(w, deps.options.notifications, notification, task, *now,
             GetFlavor(w, flavor_id), "", "");
    }
    return absl::OkStatus();
  }));
  SP_LOG(Info) << "Server " << s.uuid << " is on " << host << " only ("
               << "migration " << mv.migration.uuid << " " << status << ")";
  return absl::OkStatus();
}

}  // namespace shareplane
