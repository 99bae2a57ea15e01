// What the share workflows need, and the access-rule steps they share.
// Every step is idempotent and keyed by the mapping's UUID, so a redelivered
// task repeats nothing that was already done.
#ifndef SHAREPLANE_CONDUCTOR_WORKFLOW_H_
#define SHAREPLANE_CONDUCTOR_WORKFLOW_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/core/clock.h"
#include "common/core/retry.h"
#include "common/openstack/manila_client.h"
#include "common/pg/db.h"
#include "common/pg/store.h"
#include "conductor/notifications.h"

namespace shareplane {

class Config;

namespace task::v1 {
class Task;
}
namespace agent::v1 {
class Filesystem;
}

struct WorkflowOptions {
  // How long a grant may take to become active before the mapping errors.
  Duration access_rule_timeout = std::chrono::seconds(60);
  // First wait between polls of the rule list, doubling up to the maximum.
  Duration access_rule_poll = std::chrono::milliseconds(10);
  Duration access_rule_poll_max = std::chrono::seconds(2);
  // Retries of transient Manila failures.
  RetryPolicy manila_retry;
  // CephFS identity granted to ("cephx" access); may not contain '.'.
  std::string cephx_id = "nova";
  // Identity used as X-Service-Token in noauth deployments ("user:project");
  // with Keystone ([manila] auth_type) the session's token is used instead.
  std::string service_token = "nova:service";
  bool keystone = false;
  NotificationOptions notifications;
  // A shelve offloads at once ([DEFAULT] shelved_offload_time = 0, Nova's
  // default); otherwise the server stays SHELVED until shelveOffload.
  bool offload_at_once = true;
};

// From [manila], [notifications] and [DEFAULT] host.
WorkflowOptions WorkflowOptionsFrom(const Config& c, bool keystone);

class AgentClient;

struct WorkflowDeps {
  Database& db;
  ManilaClient& manila;
  Clock& clock;
  WorkflowOptions options;
  AgentClient& agents;
};

// The access rule a mapping needs on a host: ("ip", storage ip) for NFS,
// ("cephx", id) for CephFS.
struct AccessTarget {
  std::string type;
  std::string to;
};
AccessTarget AccessTargetFor(const ShareMapping& m, const ComputeHost& host,
                             const WorkflowOptions& options);

// Identity for calls made on behalf of the task's user: the user's token with
// the service token (noauth tokens are "user:project"); under Keystone, the
// token the user sent, or the service token alone when the task has none
// (the reconciler's). Carries the request id.
ManilaAuth AuthFor(const task::v1::Task& task, const WorkflowOptions& options);

// Finds the matching rule, if any (ip compares as networks: a.b.c.d and
// a.b.c.d/32 match).
std::optional<ManilaAccessRule> FindRule(
    const std::vector<ManilaAccessRule>& rules, const AccessTarget& target);

// True while Manila is revoking the rule.
bool IsBeingDenied(const ManilaAccessRule& rule);
// Polls Manila until the share's rule for `target` is active
// (access_rule_timeout): NotFound when it disappears, FailedPrecondition
// when it goes to error.
absl::Status WaitActive(WorkflowDeps& deps, const task::v1::Task& task,
                        const std::string& share_id,
                        const AccessTarget& target);

// Revokes the mapping's access rule unless another mapping still relies on
// it (NFS: same host; CephFS: anywhere), then forgets the grant. A rule
// kept for others drops to "ro" when only read-only attachments are left
// (Manila >= 2.88; older ones keep it "rw"). Call under the share's
// SessionLock (kShareLockSpace); Manila is called outside any transaction.
absl::Status RevokeAccessIfUnused(WorkflowDeps& deps,
                                  const task::v1::Task& task,
                                  const ShareMapping& m,
                                  const ComputeHost& host);

// Grants `host` the rule mapping `m` needs, as an attach does (recorded
// first, find-or-create at the level its users need, under the share's
// lock), and waits until it is active: the rule's id, or "" when the
// mapping is no longer in the status it had (it moved on). Unavailable when
// the task must run again.
absl::StatusOr<std::string> GrantAccess(WorkflowDeps& deps,
                                        const task::v1::Task& task,
                                        const ShareMapping& m,
                                        const Server& server,
                                        const ComputeHost& host);

// Manila's access-level update (microversion 2.88) is there.
bool ManilaUpdatesAccessLevel(WorkflowDeps& deps, const ManilaAuth& auth);
// Changes the rule's level in place and waits until it is active again.
absl::Status SetRuleLevel(WorkflowDeps& deps, const task::v1::Task& task,
                          const std::string& share_id,
                          const ManilaAccessRule& rule,
                          const std::string& level);

// The share as the agent mounts it on `host` (CephFS: with the cephx key
// from Manila's rule list, unless `with_key` is false: an unmount needs
// none).
absl::StatusOr<agent::v1::Filesystem> FilesystemFor(WorkflowDeps& deps,
                                                    const task::v1::Task& task,
                                                    const ShareMapping& m,
                                                    const ComputeHost& host,
                                                    bool with_key = true);

// A Manila rule granted by Shareplane (so carrying its lock) that no
// attachment uses any more.
struct OrphanRule {
  std::string share_id;
  std::string rule_id;
  std::string access_type;
  std::string access_to;
};
// The recorded grants older than `older_than_seconds` that no mapping needs
// and that Manila still has; grants Manila no longer has are forgotten.
absl::StatusOr<std::vector<OrphanRule>> FindOrphanRules(WorkflowDeps& deps,
                                                        int older_than_seconds);

// Outcome of a workflow run. Transient errors (database or broker down) ask
// for redelivery; everything else has been recorded on the mapping.
absl::Status RunAttach(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunDetach(WorkflowDeps& deps, const task::v1::Task& task);
// Server lifecycle (server_workflows.cc), keyed by the server's UUID and the
// task_state the API set: a redelivered task whose state moved on is a no-op.
absl::Status RunCreateServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunStartServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunStopServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunRebootServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunDeleteServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunRebuildServer(WorkflowDeps& deps, const task::v1::Task& task);
// shelve_workflows.cc
absl::Status RunShelveServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunShelveOffloadServer(WorkflowDeps& deps,
                                    const task::v1::Task& task);
absl::Status RunUnshelveServer(WorkflowDeps& deps, const task::v1::Task& task);
// move_workflows.cc, evacuate_workflow.cc
absl::Status RunMigrateServer(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunConfirmResize(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunRevertResize(WorkflowDeps& deps, const task::v1::Task& task);
absl::Status RunEvacuateServer(WorkflowDeps& deps, const task::v1::Task& task);

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_WORKFLOW_H_
