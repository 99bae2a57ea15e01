// Finishes or fails workflows left half-done: a share mapping still
// attaching or detaching, or a server still carrying a task_state, whose row
// has not changed for `stale_after` (its task was lost, e.g. a crash before
// the outbox row was written, or a poison message). It queues the matching
// task again through the outbox; the workflows are idempotent and finish
// the job or record the failure. Runs on its own thread.
#ifndef SHAREPLANE_CONDUCTOR_RECONCILER_H_
#define SHAREPLANE_CONDUCTOR_RECONCILER_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/db.h"

namespace shareplane {

class Reconciler {
 public:
  Reconciler(Database& db, std::string task_queue, Duration interval,
             Duration stale_after);
  ~Reconciler();  // stops

  void Start();
  void Stop();
  // One pass; returns how many tasks it queued again.
  absl::StatusOr<int> RunOnce();

 private:
  Database& db_;
  std::string task_queue_;
  Duration interval_;
  Duration stale_after_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_RECONCILER_H_
