// Evacuation of a server whose host is down, with its shares (BEYOND.md
// section 4, where Nova answers 409). The API checked the host is down,
// picked the destination and recorded the migration ("accepted"); here:
//   accepted       grant every share's rule to the destination and start
//                  the server there (unless it is to stay stopped), then
//                  place it there, holding the dead host until ...
//   pre-migrating  ... the dead host's rules are revoked where no other
//                  mapping there uses them: its storage access is fenced,
//                  so a guest still running there loses its shares;
// then "done". When the dead host's agent is back, the host audit finds a
// domain of a server that is not its own, removes it and its mounts (no
// guest runs twice) and marks the migration "completed", as Nova's compute
// does at start.
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

constexpr char kEvent[] = "compute_rebuild_instance";

// The destination's rules, then the guest there when it is to run.
absl::Status StartOnDestination(WorkflowDeps& deps, const task::v1::Task& task,
                                const Move& mv, bool run) {
  SP_RETURN_IF_ERROR(GrantDestination(deps, task, mv));
  TestPoint("evacuate.dest_granted");
  if (!run) return absl::OkStatus();
  SP_ASSIGN_OR_RETURN(auto spec, SpecOn(deps, task, mv, mv.dest, mv.l.flavor));
  SP_RETURN_IF_ERROR(AgentStep(deps.agents.PowerOn(mv.dest, spec).status()));
  TestPoint("evacuate.dest_started");
  return absl::OkStatus();
}

// The server on the destination, still holding the dead host (whose rules
// are revoked next).
absl::Status Place(WorkflowDeps& deps, const task::v1::Task& task, Move& mv,
                   bool run) {
  Server& s = mv.l.server;
  const int power = run ? kRunning : kShutdown;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (!UpdateServerMove(
            w, s.uuid, s.version, s.vm_state, "rebuilding", power,
            {mv.dest.hostname, mv.source.hostname, s.flavor_id, s.flavor_id}) ||
        !SetMigrationStatus(w, mv.migration.id, "accepted", "pre-migrating")) {
      return absl::AbortedError("The server changed while being evacuated");
    }
    for (const ShareMapping& m : mv.l.mappings) {
      if (!kMovedShares.count(m.status)) continue;
      const std::string status = run ? "active" : "inactive";
      if (m.status != status) {
        UpdateShareMappingStatus(w, m.uuid, m.version, status, m.access_id, "");
      }
    }
    return absl::OkStatus();
  }));
  ++s.version;
  s.power_state = power;
  s.host = mv.dest.hostname;
  mv.migration.status = "pre-migrating";
  return absl::OkStatus();
}

}  // namespace

absl::Status RunEvacuateServer(WorkflowDeps& deps, const task::v1::Task& task) {
  auto loaded = LoadMove(deps, task, {"rebuilding"},
                         {"accepted", "pre-migrating"}, kEvent);
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  Move& mv = **loaded;
  TestPoint("evacuate.notified");
  if (mv.migration.status == "accepted") {
    // From microversion 2.95 an evacuated server is left stopped.
    const bool run =
        mv.l.server.vm_state == "active" && !mv.migration.stop_after;
    absl::Status s = StartOnDestination(deps, task, mv, run);
    if (s.code() == absl::StatusCode::kUnavailable) return s;
    if (!s.ok()) {
      const std::string reason =
          absl::StrCat("Failed to evacuate server ", mv.l.server.uuid, " to ",
                       mv.dest.hostname, ": ", s.message());
      SP_LOG(Warning) << reason;
      return RollBack(deps, task, mv, /*touched_source=*/true, "failed", reason,
                      kEvent);
    }
    SP_RETURN_IF_ERROR(Place(deps, task, mv, run));
    TestPoint("evacuate.placed");
  }
  // Fencing: the dead host's access goes. A Manila that fails here does
  // not undo the evacuation; the grant is then the rule audit's.
  std::string warning;
  absl::Status r = ReleaseHostRules(deps, task, mv, mv.source);
  if (r.code() == absl::StatusCode::kUnavailable) return r;
  if (!r.ok()) {
    warning = std::string(r.message());
    SP_LOG(Warning) << "Evacuated server " << mv.l.server.uuid << ": "
                    << warning;
  }
  TestPoint("evacuate.source_revoked");
  SP_RETURN_IF_ERROR(Settle(deps, task, mv, mv.dest.hostname,
                            mv.l.server.flavor_id, "done", kEvent,
                            "instance.evacuate", "", warning));
  SP_LOG(Info) << "Server " << mv.l.server.uuid << " evacuated from "
               << mv.source.hostname << " to " << mv.dest.hostname << " with "
               << mv.l.mappings.size() << " shares";
  return absl::OkStatus();
}

}  // namespace shareplane
