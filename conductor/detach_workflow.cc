// Detach: revoke the host's access rule unless another mapping still relies
// on it (NFS: same host; CephFS: anywhere), then delete the mapping.
#include "absl/strings/str_cat.h"
#include "common/crash_point.h"
#include "common/log.h"
#include "common/status.h"
#include "conductor/workflow.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

absl::Status RunDetach(WorkflowDeps& deps, const task::v1::Task& task) {
  std::string failure;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    auto m = GetShareMapping(w, task.mapping_uuid());
    if (m && m->status == "detaching") {
      Notify(w, deps.options.notifications, "instance.share_detach.start", task,
             m->share_id, "");
    }
    return absl::OkStatus();
  }));
  CrashPoint("detach.notified");
  absl::Status s = deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    auto m = GetShareMapping(w, task.mapping_uuid());
    if (!m || m->status != "detaching") return absl::OkStatus();  // done
    // Serialize with attaches of the same share deciding on the same rule.
    LockShareAccess(w, m->share_id);
    auto server = GetServer(w, m->server_uuid);
    auto host = server && !server->host.empty()
                    ? GetComputeHost(w, server->host)
                    : std::nullopt;
    if (host) {
      absl::Status r = RevokeAccessIfUnused(deps, task, w, *m, *host);
      if (!r.ok()) {
        failure = absl::StrCat("Failed to revoke access to share '",
                               m->share_id, "': ", r.message());
        SP_LOG(Warning) << failure;
        UpdateShareMappingStatus(w, m->uuid, m->version, "error", "", failure);
        RecordActionEvent(w, m->server_uuid, task.request_id(),
                          "compute_detach_share", "Error", failure);
        Notify(w, deps.options.notifications, "instance.share_detach.error",
               task, m->share_id, failure);
        return absl::OkStatus();
      }
    }
    if (DeleteShareMapping(w, m->uuid, m->version)) {
      RecordActionEvent(w, m->server_uuid, task.request_id(),
                        "compute_detach_share", "Success", "");
      Notify(w, deps.options.notifications, "instance.share_detach.end", task,
             m->share_id, "");
      SP_LOG(Info) << "Share " << m->share_id << " detached from server "
                   << m->server_uuid;
    }
    return absl::OkStatus();
  });
  if (s.ok()) CrashPoint("detach.recorded");
  return s;
}

}  // namespace shareplane
