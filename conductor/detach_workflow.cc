// Detach: revoke the host's access rule unless another mapping still relies
// on it (NFS: same host; CephFS: anywhere), then delete the mapping.
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "conductor/workflow.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

absl::Status RevokeIfUnused(WorkflowDeps& deps, const task::v1::Task& task,
                            pqxx::work& w, const ShareMapping& m,
                            const ComputeHost& host) {
  const bool per_host = m.share_proto != "CEPHFS";
  if (CountOtherRuleUsers(w, m.share_id, m.uuid, host.hostname, per_host) > 0) {
    SP_LOG(Info) << "Access rule of share " << m.share_id
                 << " is still used by other mappings; keeping it";
    return absl::OkStatus();
  }
  const AccessTarget target = AccessTargetFor(m, host, deps.options);
  const ManilaAuth auth = AuthFor(task, deps.options);
  return Retry(deps.clock, deps.options.manila_retry, [&]() -> absl::Status {
    auto rules = deps.manila.ListAccessRules(m.share_id, auth);
    if (rules.status().code() == absl::StatusCode::kNotFound) {
      return absl::OkStatus();  // share gone: nothing to revoke
    }
    if (!rules.ok()) return rules.status();
    auto rule = FindRule(*rules, target);
    if (!rule) return absl::OkStatus();
    absl::Status s = deps.manila.DenyAccess(m.share_id, rule->id, auth);
    if (s.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
    if (s.ok()) {
      SP_LOG(Info) << "Revoked " << target.type << " access on share "
                   << m.share_id << " (rule " << rule->id << ")";
    }
    return s;
  });
}

}  // namespace

absl::Status RunDetach(WorkflowDeps& deps, const task::v1::Task& task) {
  std::string failure;
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
      absl::Status r = RevokeIfUnused(deps, task, w, *m, *host);
      if (!r.ok()) {
        failure = absl::StrCat("Failed to revoke access to share '",
                               m->share_id, "': ", r.message());
        SP_LOG(Warning) << failure;
        UpdateShareMappingStatus(w, m->uuid, m->version, "error", "", failure);
        RecordActionEvent(w, m->server_uuid, task.request_id(),
                          "compute_detach_share", "Error", failure);
        return absl::OkStatus();
      }
    }
    if (DeleteShareMapping(w, m->uuid, m->version)) {
      RecordActionEvent(w, m->server_uuid, task.request_id(),
                        "compute_detach_share", "Success", "");
      SP_LOG(Info) << "Share " << m->share_id << " detached from server "
                   << m->server_uuid;
    }
    return absl::OkStatus();
  });
  return s;
}

}  // namespace shareplane
