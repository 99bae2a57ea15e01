// Detach: on a running server, unplug the share first; then revoke the
// host's access rule unless another mapping still relies on it (NFS: same
// host; CephFS: anywhere), then delete the mapping.
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/core/test_point.h"
#include "conductor/agent_client.h"
#include "conductor/workflow.h"
#include "shareplane/agent/v1/agent.pb.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

namespace {

// A detach whose mapping is gone (a delete of the server detached it, or a
// redelivery after it was done) still ends its action with an event.
absl::Status RecordAlreadyDetached(WorkflowDeps& deps,
                                   const task::v1::Task& task) {
  return deps.db.Transact([&](pqxx::work& w) {
    RecordActionEventOnce(w, task.server_uuid(), task.request_id(),
                          "compute_detach_share", "Success",
                          "The share was no longer attached.");
    return absl::OkStatus();
  });
}

// A detach that finds its mapping no longer detaching (another task put it
// in error, e.g. a failed delete of its server) ends with that outcome.
absl::Status RecordSettled(WorkflowDeps& deps, const task::v1::Task& task,
                           const ShareMapping& m) {
  return deps.db.Transact([&](pqxx::work& w) {
    RecordActionEventOnce(
        w, task.server_uuid(), task.request_id(), "compute_detach_share",
        "Error",
        m.status == "error" && !m.error_message.empty()
            ? m.error_message
            : absl::StrCat("The share's attachment is ", m.status, " now."));
    return absl::OkStatus();
  });
}

// A detach whose compare-and-set on the mapping lost: gone means detached
// by another request (the action still ends, with Success); changed
// otherwise, so the task runs again and decides from what it is now.
absl::Status LostRace(pqxx::work& w, const task::v1::Task& task,
                      const ShareMapping& m) {
  if (!GetShareMapping(w, m.uuid)) {
    RecordActionEventOnce(w, m.server_uuid, task.request_id(),
                          "compute_detach_share", "Success",
                          "The share was no longer attached.");
    return absl::OkStatus();
  }
  return absl::AbortedError(
      "The mapping changed while detaching; the task runs again");
}

// Deletes the mapping, or with a `failure` puts it in error, and ends the
// action; a lost race is decided again from what the mapping is now.
absl::Status RecordOutcome(WorkflowDeps& deps, const task::v1::Task& task,
                           const ShareMapping& m,
                           const std::optional<Flavor>& flavor,
                           const std::string& failure) {
  return deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    const bool failed = !failure.empty();
    const bool done = failed ? UpdateShareMappingStatus(w, m.uuid, m.version,
                                                        "error", "", failure)
                             : DeleteShareMapping(w, m.uuid, m.version);
    if (!done) {
      // Lost a race: gone means detached by another request; changed
      // otherwise, so decide again from what it is now.
      return LostRace(w, task, m);
    }
    RecordActionEvent(w, m.server_uuid, task.request_id(),
                      "compute_detach_share", failed ? "Error" : "Success",
                      failure);
    // The server as it is now: only the mapping was compared and set.
    if (auto server = GetServer(w, task.server_uuid())) {
      Notify(
          w, deps.options.notifications,
          failed ? "instance.share_detach.error" : "instance.share_detach.end",
          task, *server, flavor, m.share_id, failure);
    }
    if (!failed) {
      SP_LOG(Info) << "Share " << m.share_id << " detached from server "
                   << m.server_uuid;
    }
    return absl::OkStatus();
  });
}

// A live unplug that did not finish (the guest held on past
// hot_unplug_timeout, or the agent failed): the share stays attached and in
// use, nothing is revoked, and the action says why.
absl::Status RecordStillAttached(WorkflowDeps& deps, const task::v1::Task& task,
                                 const ShareMapping& m,
                                 const std::optional<Flavor>& flavor,
                                 const std::string& reason) {
  SP_LOG(Warning) << reason;
  return deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (!UpdateShareMappingStatus(w, m.uuid, m.version, "active", "", "")) {
      return LostRace(w, task, m);
    }
    RecordActionEvent(w, m.server_uuid, task.request_id(),
                      "compute_detach_share", "Error", reason);
    if (auto server = GetServer(w, task.server_uuid())) {
      Notify(w, deps.options.notifications, "instance.share_detach.error", task,
             *server, flavor, m.share_id, reason);
    }
    return absl::OkStatus();
  });
}

// Unplugs the share from the running server before anything is revoked.
absl::Status Unplug(WorkflowDeps& deps, const task::v1::Task& task,
                    const ShareMapping& m, const ComputeHost& host) {
  SP_ASSIGN_OR_RETURN(const agent::v1::Filesystem fs,
                      FilesystemFor(deps, task, m, host, /*with_key=*/false));
  return deps.agents.DetachFilesystem(host, m.server_uuid, fs).status();
}

}  // namespace

absl::Status RunDetach(WorkflowDeps& deps, const task::v1::Task& task) {
  std::optional<ShareMapping> m;
  std::optional<Flavor> flavor;           // the server's, for its notifications
  std::optional<ComputeHost> running_on;  // the host of a running server
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    m = GetShareMapping(w, task.mapping_uuid());
    if (!m || m->status != "detaching") return absl::OkStatus();
    if (auto server = GetServer(w, task.server_uuid())) {
      flavor = GetFlavor(w, server->flavor_id);
      if (server->vm_state == "active" && !server->host.empty()) {
        running_on = GetComputeHost(w, server->host);
      }
      Notify(w, deps.options.notifications, "instance.share_detach.start", task,
             *server, flavor, m->share_id, "");
    }
    return absl::OkStatus();
  }));
  if (!m) return RecordAlreadyDetached(deps, task);
  if (m->status != "detaching") return RecordSettled(deps, task, *m);
  TestPoint("detach.notified");
  // A running guest lets go of the device first (BEYOND.md section 2):
  // nothing is revoked while the domain still has it.
  if (running_on) {
    if (absl::Status u = Unplug(deps, task, *m, *running_on); !u.ok()) {
      return RecordStillAttached(
          deps, task, *m, flavor,
          absl::StrCat("Failed to detach share '", m->share_id,
                       "' from the running server: ", u.message()));
    }
    TestPoint("detach.unplugged");
  }
  // Serialize with attaches of the same share deciding on the same rule;
  // the decision is read again under the lock, Manila called outside any
  // transaction, the outcome recorded in a transaction of its own.
  SessionLock share_lock(deps.db, kShareLockSpace, m->share_id);
  SP_RETURN_IF_ERROR(share_lock.status());
  std::optional<ComputeHost> host;
  SP_RETURN_IF_ERROR(deps.db.Read([&](pqxx::transaction_base& w) {
    m = GetShareMapping(w, task.mapping_uuid());
    if (!m || m->status != "detaching") return absl::OkStatus();
    auto server = GetServer(w, m->server_uuid);
    if (server && !server->host.empty()) host = GetComputeHost(w, server->host);
    return absl::OkStatus();
  }));
  if (!m) return RecordAlreadyDetached(deps, task);
  if (m->status != "detaching") return RecordSettled(deps, task, *m);
  std::string failure;
  if (host) {
    SP_RETURN_IF_ERROR(share_lock.Verify());
    absl::Status r = RevokeAccessIfUnused(deps, task, *m, *host);
    if (!r.ok()) {
      failure = absl::StrCat("Failed to revoke access to share '", m->share_id,
                             "': ", r.message());
      SP_LOG(Warning) << failure;
    }
  }
  // The decision held only while the lock did: else run the task again.
  SP_RETURN_IF_ERROR(share_lock.Verify());
  absl::Status s = RecordOutcome(deps, task, *m, flavor, failure);
  if (s.ok()) TestPoint("detach.recorded");
  return s;
}

}  // namespace shareplane
