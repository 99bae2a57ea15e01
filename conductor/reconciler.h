// Finishes or fails workflows left half-done: a share mapping still
// attaching or detaching, or a server still carrying a task_state, whose row
// has not changed for `stale_after` (its task was lost, e.g. a crash before
// the outbox row was written, or a poison message). It queues the matching
// task again through the outbox; the workflows are idempotent and finish
// the job or record the failure. It also reports Manila rules that carry
// Shareplane's lock but serve no attachment (FindOrphanRules), as warnings
// naming the share and rule. Runs on its own thread.
#ifndef SHAREPLANE_CONDUCTOR_RECONCILER_H_
#define SHAREPLANE_CONDUCTOR_RECONCILER_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/core/clock.h"
#include "common/pg/db.h"
#include "conductor/workflow.h"

namespace shareplane {

class Reconciler {
 public:
  // Grants older than `orphan_age` that no mapping needs are checked in
  // Manila through `deps`.
  Reconciler(Database& db, std::string task_queue, Duration interval,
             Duration stale_after, WorkflowDeps deps, Duration orphan_age);
  ~Reconciler();  // stops

  void Start();
  void Stop();
  // One pass; returns how many tasks it queued again.
  absl::StatusOr<int> RunOnce();
  // One audit of the recorded grants; logs and returns the orphans.
  absl::StatusOr<std::vector<OrphanRule>> AuditRules();

 private:
  Database& db_;
  std::string task_queue_;
  Duration interval_;
  Duration stale_after_;
  WorkflowDeps deps_;
  Duration orphan_age_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_RECONCILER_H_
