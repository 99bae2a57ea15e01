// The steps the move workflows share (move_workflows.cc,
// evacuate_workflow.cc): load a server with its migration, advance it one
// step, build the agent's spec for a host, release a host's rules, and end
// the move one way or the other.
#ifndef SHAREPLANE_CONDUCTOR_MOVE_STEPS_H_
#define SHAREPLANE_CONDUCTOR_MOVE_STEPS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/store.h"
#include "conductor/server_steps.h"
#include "conductor/workflow.h"

namespace shareplane {

// The mappings a move takes along (an errored share stays errored).
inline const std::set<std::string> kMovedShares = {"active", "inactive"};

struct Move {
  Loaded l;  // the server, the host it is on now, its flavor, its shares
  ServerMigration migration;
  ComputeHost source, dest;
  std::optional<Flavor> old_flavor, new_flavor;
};

// Loads the server if its task_state is one of `task_states` and it has a
// migration in one of `statuses`, and queues `notification`.start (none
// when ""); nullopt when there is nothing to do (a redelivered task, or a
// request that overtook this one), the action then getting `event`.
absl::StatusOr<std::optional<Move>> LoadMove(
    WorkflowDeps& deps, const task::v1::Task& task,
    const std::set<std::string>& task_states,
    const std::vector<std::string>& statuses, const std::string& event,
    const std::string& notification = "");

// One step on: the server's task_state and the migration's status (both
// compare-and-set; Aborted when another request took the server), the
// step's `event`, `done`.end and `next`.start (each none when "").
// Updates `mv` to match.
absl::Status Advance(WorkflowDeps& deps, const task::v1::Task& task, Move& mv,
                     const std::string& task_state, const std::string& status,
                     const std::string& event, const std::string& done,
                     const std::string& next);

// Every moved share's rule granted to the destination (idempotent).
absl::Status GrantDestination(WorkflowDeps& deps, const task::v1::Task& task,
                              const Move& mv);

// An agent call's outcome as a step's: an agent still unreachable after
// the client's retries fails the step (Unavailable would run the task
// again and again while the host is down; it stays the database's and the
// lock's "run again").
absl::Status AgentStep(const absl::Status& s);

// The agent's spec for the server on `host` with `flavor`.
absl::StatusOr<agent::v1::ServerSpec> SpecOn(
    WorkflowDeps& deps, const task::v1::Task& task, const Move& mv,
    const ComputeHost& host, const std::optional<Flavor>& flavor);

// Revokes, share by share under its lock, the NFS rules of the server's
// mappings on `host` that no other mapping uses there (CephFS rules are
// not per host: kept). Found by what they grant, not by the mapping's
// recorded rule id, which may be the other host's.
absl::Status ReleaseHostRules(WorkflowDeps& deps, const task::v1::Task& task,
                              const Move& mv, const ComputeHost& host);

// The rule ids recorded on NFS mappings are the host's they leave.
void ClearAccessIds(pqxx::transaction_base& w,
                    const std::vector<ShareMapping>& mappings);

// A move that failed before it finished: what the destination got is
// undone (its domain and mounts when `touched_source`, else only its
// rules), and the server is back on its source only, ERROR when its guest
// was stopped there (`touched_source`), else as it was; the migration
// `failed_status`; `event` records `reason`.
absl::Status RollBack(WorkflowDeps& deps, const task::v1::Task& task,
                      const Move& mv, bool touched_source,
                      const std::string& failed_status,
                      const std::string& reason, const std::string& event);

// A confirm or revert that could not clean a host up: back to
// VERIFY_RESIZE (migration finished), so it can be asked again.
absl::Status Unconfirm(WorkflowDeps& deps, const task::v1::Task& task,
                       const Move& mv, const std::string& event,
                       const std::string& reason);

// The end of a move: the server on `host` only, with `flavor_id`, ACTIVE
// or SHUTOFF by its power state (ERROR with `error`), the migration
// `status`; `notification` (a whole event type, "" for none) unless error.
// `note`: the details of a successful event.
absl::Status Settle(WorkflowDeps& deps, const task::v1::Task& task,
                    const Move& mv, const std::string& host,
                    const std::string& flavor_id, const std::string& status,
                    const std::string& event, const std::string& notification,
                    const std::string& error = "",
                    const std::string& note = "");

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_MOVE_STEPS_H_
