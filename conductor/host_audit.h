// The periodic comparison of what the database says each up host runs with
// what its agent reports (GetHostState). It repairs what it can decide
// alone:
//   - a server recorded ACTIVE, with no task, whose domain does not run (the
//     host rebooted, the guest powered itself off) is recorded SHUTOFF with
//     its shares inactive, as Nova's power-state sync does, with a "stop"
//     action saying why, and its mounts are released;
//   - a domain or mount use of a server the database does not place on this
//     host (deleted, or a crash between two steps) is removed (Nova's
//     running_deleted_instance_action = reap);
//   - a mount use of a server whose domain does not run is released;
//   - a domain that runs for a server recorded SHUTOFF (a call the
//     conductor gave up on ran after all) is stopped, as Nova's power sync
//     does (force_stop);
// and reports (log, shareplane_host_audit_total{result="reported"}) what it
// must not decide alone: a running server with fewer mounts than its
// active shares.
// Every repair takes the server's lock (a try: a server busy with a task is
// left to the next pass), reads the server again and asks the agent again,
// so it never acts on a state a workflow is changing. No database
// transaction is open during an agent call.
#ifndef SHAREPLANE_CONDUCTOR_HOST_AUDIT_H_
#define SHAREPLANE_CONDUCTOR_HOST_AUDIT_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/core/clock.h"
#include "conductor/workflow.h"

namespace shareplane {

struct HostAuditResult {
  int hosts = 0;     // up hosts whose agent answered
  int repaired = 0;  // servers or mounts put right
  int reported = 0;  // mismatches left to an operator
};

class HostAudit {
 public:
  // Hosts whose heartbeat is older than `down_after_seconds` are skipped.
  // `probe` reads host and server states (a short deadline, no retries: a
  // stalled agent waits for the next pass); repairs go through
  // `deps.agents`.
  HostAudit(WorkflowDeps deps, AgentClient& probe, int down_after_seconds);
  ~HostAudit();  // stops
  absl::StatusOr<HostAuditResult> RunOnce();
  // Runs RunOnce every `interval` on its own thread.
  void Start(Duration interval);
  void Stop();

 private:
  absl::Status AuditHost(const ComputeHost& host, HostAuditResult& result);
  // Repairs one server under its lock; true when something was changed.
  absl::StatusOr<bool> Repair(const ComputeHost& host,
                              const std::string& server_uuid);
  WorkflowDeps deps_;
  AgentClient& probe_;
  int down_after_seconds_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_HOST_AUDIT_H_
