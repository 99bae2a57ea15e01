// Cold migration, resize and their confirm and revert, with the server's
// shares (BEYOND.md section 4, where Nova answers 409). The API recorded
// the migration, picked the destination and made the server hold room on
// both hosts (servers.migration_host); each step below is idempotent and
// the server's task_state (with the migration's status) says which one a
// redelivered task resumes at:
//   resize_prep       grant every share's rule to the destination;
//   resize_migrating  stop the guest on the source (its mounts and rules
//                     stay until confirm);
//   resize_finish     start it on the destination, mounts first;
// then VERIFY_RESIZE (vm_state resized), the server on the destination
// and still holding the source. Confirm removes the source's domain and
// mounts and revokes its rules where unused; revert does that on the
// destination and starts the server on the source again. A failure before
// VERIFY_RESIZE undoes what was done on the destination and leaves the
// server on its source. Evacuation is in evacuate_workflow.cc.
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/core/test_point.h"
#include "conductor/agent_client.h"
#include "conductor/move_steps.h"
#include "conductor/workflow.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

absl::Status RunPhases(WorkflowDeps& deps, const task::v1::Task& task, Move& mv,
                       bool& touched_source) {
  const bool running = mv.l.server.vm_state == "active";
  if (mv.l.server.task_state == "resize_prep") {
    SP_RETURN_IF_ERROR(GrantDestination(deps, task, mv));
    TestPoint("migrate.dest_granted");
    SP_RETURN_IF_ERROR(Advance(deps, task, mv, "resize_migrating", "migrating",
                               "compute_prep_resize", "instance.resize_prep",
                               "instance.resize"));
  }
  if (mv.l.server.task_state == "resize_migrating") {
    touched_source = true;
    SP_RETURN_IF_ERROR(AgentStep(
        deps.agents.StopServer(mv.source, mv.l.server.uuid).status()));
    TestPoint("migrate.source_stopped");
    SP_RETURN_IF_ERROR(Advance(deps, task, mv, "resize_finish",
                               "post-migrating", "compute_resize_instance",
                               "instance.resize", "instance.resize_finish"));
  }
  if (mv.l.server.task_state == "resize_finish") {
    touched_source = true;
    if (running) {
      SP_ASSIGN_OR_RETURN(auto spec,
                          SpecOn(deps, task, mv, mv.dest, mv.new_flavor));
      SP_RETURN_IF_ERROR(
          AgentStep(deps.agents.PowerOn(mv.dest, spec).status()));
    }
    TestPoint("migrate.dest_started");
  }
  return absl::OkStatus();
}

// VERIFY_RESIZE: the server on its destination with the new flavor,
// holding the source (and the old flavor's room there) until confirmed.
absl::Status RecordFinished(WorkflowDeps& deps, const task::v1::Task& task,
                            const Move& mv) {
  const bool running = mv.l.server.vm_state == "active";
  return deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    ServerPlacement p{mv.dest.hostname, mv.source.hostname,
                      mv.migration.new_flavor_id, mv.migration.old_flavor_id};
    if (!UpdateServerMove(w, mv.l.server.uuid, mv.l.server.version, "resized",
                          "", running ? kRunning : kShutdown, p) ||
        !SetMigrationStatus(w, mv.migration.id, "post-migrating", "finished")) {
      return absl::AbortedError("The server changed while being migrated");
    }
    ClearAccessIds(w, mv.l.mappings);
    RecordActionEvent(w, mv.l.server.uuid, task.request_id(),
                      "compute_finish_resize", "Success", "");
    if (auto now = GetServer(w, mv.l.server.uuid)) {
      Notify(w, deps.options.notifications, "instance.resize_finish.end", task,
             *now, mv.new_flavor, "", "");
    }
    return absl::OkStatus();
  });
}

// The end of a confirm or revert (`verb`) on the host the server leaves:
// its guest and mounts there go (`removed` is the crash point after), then
// its NFS rules there where unused. nullopt to go on; else what the run
// returns: Unavailable runs it again, any other failure is recorded and
// the server is back in VERIFY_RESIZE, to be asked again.
std::optional<absl::Status> LeaveHost(WorkflowDeps& deps,
                                      const task::v1::Task& task,
                                      const Move& mv, const ComputeHost& host,
                                      const std::string& verb,
                                      const std::string& event,
                                      const std::string& removed) {
  absl::Status s =
      AgentStep(deps.agents.DeleteServer(host, mv.l.server.uuid).status());
  TestPoint(removed);
  if (s.ok()) s = ReleaseHostRules(deps, task, mv, host);
  if (s.ok()) return std::nullopt;
  if (s.code() == absl::StatusCode::kUnavailable) return s;
  const std::string reason = absl::StrCat(
      "Failed to ", verb, " the resize of server ", mv.l.server.uuid, " (",
      host.hostname, " could not be cleaned up; ", verb,
      " again): ", s.message());
  SP_LOG(Warning) << reason;
  return Unconfirm(deps, task, mv, event, reason);
}

}  // namespace

absl::Status RunMigrateServer(WorkflowDeps& deps, const task::v1::Task& task) {
  auto loaded =
      LoadMove(deps, task, {"resize_prep", "resize_migrating", "resize_finish"},
               {"pre-migrating", "migrating", "post-migrating"},
               "compute_prep_resize", "instance.resize_prep");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  Move& mv = **loaded;
  TestPoint("migrate.notified");
  bool touched_source = false;
  absl::Status s = RunPhases(deps, task, mv, touched_source);
  if (s.code() == absl::StatusCode::kUnavailable ||
      s.code() == absl::StatusCode::kAborted) {
    return s;  // runs again (or another request took the server over)
  }
  if (!s.ok()) {
    const std::string reason =
        absl::StrCat("Failed to migrate server ", mv.l.server.uuid, " to ",
                     mv.dest.hostname, ": ", s.message());
    SP_LOG(Warning) << reason;
    // Undone on the destination; a guest stopped on the source is ERROR
    // (a hard reboot starts it there again), else it is as it was.
    return RollBack(deps, task, mv, touched_source, "error", reason,
                    "compute_resize_instance");
  }
  SP_RETURN_IF_ERROR(RecordFinished(deps, task, mv));
  SP_LOG(Info) << "Server " << mv.l.server.uuid << " migrated from "
               << mv.source.hostname << " to " << mv.dest.hostname << " with "
               << mv.l.mappings.size() << " shares; awaiting confirm";
  TestPoint("migrate.recorded");
  return absl::OkStatus();
}

absl::Status RunConfirmResize(WorkflowDeps& deps, const task::v1::Task& task) {
  const std::string event = "compute_confirm_resize";
  auto loaded = LoadMove(deps, task, {""}, {"confirming"}, event,
                         "instance.resize_confirm");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  Move& mv = **loaded;
  // Here the server is on the destination and mv.source is the host it
  // leaves.
  TestPoint("confirm.notified");
  if (auto ended = LeaveHost(deps, task, mv, mv.source, "confirm", event,
                             "confirm.source_removed")) {
    return *ended;
  }
  TestPoint("confirm.source_revoked");
  return Settle(deps, task, mv, mv.dest.hostname, mv.l.server.flavor_id,
                "confirmed", event, "instance.resize_confirm.end");
}

absl::Status RunRevertResize(WorkflowDeps& deps, const task::v1::Task& task) {
  const std::string event = "compute_revert_resize";
  auto loaded = LoadMove(deps, task, {"resize_reverting"}, {"reverting"}, event,
                         "instance.resize_revert");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  Move& mv = **loaded;
  TestPoint("revert.notified");
  // The server left the destination for its source: the destination's
  // guest, mounts and unused rules go.
  if (auto ended = LeaveHost(deps, task, mv, mv.dest, "revert", event,
                             "revert.dest_removed")) {
    return *ended;
  }
  TestPoint("revert.dest_revoked");
  if (mv.l.server.power_state == kRunning) {
    auto spec = SpecOn(deps, task, mv, mv.source, mv.old_flavor);
    absl::Status s = spec.status();
    if (s.ok()) s = AgentStep(deps.agents.PowerOn(mv.source, *spec).status());
    if (s.code() == absl::StatusCode::kUnavailable) return s;
    if (!s.ok()) {
      const std::string reason = absl::StrCat(
          "Failed to start server ", mv.l.server.uuid, " on ",
          mv.source.hostname, " after reverting its resize: ", s.message());
      SP_LOG(Warning) << reason;
      return Settle(deps, task, mv, mv.source.hostname,
                    mv.migration.old_flavor_id, "error", event, "", reason);
    }
  }
  TestPoint("revert.source_started");
  return Settle(deps, task, mv, mv.source.hostname, mv.migration.old_flavor_id,
                "reverted", event, "instance.resize_revert.end");
}

}  // namespace shareplane
