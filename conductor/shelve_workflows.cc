// Shelve, shelve offload and unshelve of servers, with their shares
// (BEYOND.md section 4, where Nova answers 409): shelving powers the
// server off; offloading revokes each share's rule where nothing else on
// the host uses it, undefines the domain and takes the server off its host,
// the mappings staying (inactive); unshelving grants the rules on the host
// the API placed it on and starts it there.
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/core/test_point.h"
#include "conductor/agent_client.h"
#include "conductor/server_steps.h"
#include "conductor/workflow.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

// Each share's rule released where unused (its mapping kept), then the
// domain undefined; the host's mounts went with the power-off.
absl::Status Offload(WorkflowDeps& deps, const task::v1::Task& task,
                     const Loaded& l) {
  for (const ShareMapping& m : l.mappings) {
    SessionLock share_lock(deps.db, kShareLockSpace, m.share_id);
    SP_RETURN_IF_ERROR(share_lock.Verify());
    absl::Status r = RevokeAccessIfUnused(deps, task, m, l.host);
    if (!r.ok()) {
      return absl::Status(r.code(),
                          absl::StrCat("Failed to revoke access to share '",
                                       m.share_id, "': ", r.message()));
    }
    SP_RETURN_IF_ERROR(share_lock.Verify());
    TestPoint("shelve_offload.share_released");
  }
  if (!l.host.agent_endpoint.empty()) {
    SP_RETURN_IF_ERROR(
        deps.agents.DeleteServer(l.host, l.server.uuid).status());
  }
  TestPoint("shelve_offload.undefined");
  return absl::OkStatus();
}

// The server SHELVED_OFFLOADED, off its host, its mappings inactive.
absl::Status RecordOffloaded(WorkflowDeps& deps, const task::v1::Task& task,
                             const Loaded& l, const std::string& event) {
  return deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    if (!UpdateServerState(w, l.server.uuid, l.server.version,
                           "shelved_offloaded", "", kShutdown) ||
        !PlaceServer(w, l.server.uuid, l.server.version + 1, "")) {
      return absl::AbortedError("The server changed while being offloaded");
    }
    for (const ShareMapping& m : l.mappings) {
      if (m.status == "active") {
        UpdateShareMappingStatus(w, m.uuid, m.version, "inactive", "", "");
      }
      SetShareMappingAccessId(w, m.uuid, "");
    }
    RecordActionEvent(w, l.server.uuid, task.request_id(), event, "Success",
                      "");
    if (auto now = GetServer(w, l.server.uuid)) {
      Notify(w, deps.options.notifications, "instance.shelve_offload.end", task,
             *now, l.flavor, "", "");
    }
    return absl::OkStatus();
  });
}

absl::Status OffloadFlow(WorkflowDeps& deps, const task::v1::Task& task,
                         const Loaded& l, const std::string& event) {
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    Notify(w, deps.options.notifications, "instance.shelve_offload.start", task,
           l.server, l.flavor, "", "");
    return absl::OkStatus();
  }));
  if (absl::Status s = Offload(deps, task, l); !s.ok()) {
    const std::string reason = absl::StrCat("Failed to offload server ",
                                            l.server.uuid, ": ", s.message());
    SP_LOG(Warning) << reason;
    return Record(deps, task, l, "error", 0, {}, "", event, reason);
  }
  SP_LOG(Info) << "Server " << l.server.uuid << " offloaded from "
               << l.host.hostname << " with " << l.mappings.size()
               << " shares kept";
  return RecordOffloaded(deps, task, l, event);
}

}  // namespace

absl::Status RunShelveServer(WorkflowDeps& deps, const task::v1::Task& task) {
  const std::string event = "compute_shelve_instance";
  auto loaded = Load(deps, task, "shelving", event, "instance.shelve");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  const Loaded& l = **loaded;
  TestPoint("shelve.notified");
  absl::Status s = deps.agents.PowerOff(l.host, l.server.uuid).status();
  TestPoint("shelve.powered_off");
  if (!s.ok()) {
    const std::string reason = absl::StrCat("Failed to shelve server ",
                                            l.server.uuid, ": ", s.message());
    SP_LOG(Warning) << reason;
    return Record(deps, task, l, "error", 0, {}, "", event, reason);
  }
  if (!deps.options.offload_at_once) {
    return Record(deps, task, l, "shelved", kShutdown, {"active"}, "inactive",
                  event, "", "instance.shelve");
  }
  // [DEFAULT] shelved_offload_time = 0, Nova's default: offloaded at once.
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    Notify(w, deps.options.notifications, "instance.shelve.end", task, l.server,
           l.flavor, "", "");
    return absl::OkStatus();
  }));
  return OffloadFlow(deps, task, l, event);
}

absl::Status RunShelveOffloadServer(WorkflowDeps& deps,
                                    const task::v1::Task& task) {
  const std::string event = "compute_shelve_offload_instance";
  auto loaded = Load(deps, task, "shelving_offloading", event, "");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  return OffloadFlow(deps, task, **loaded, event);
}

absl::Status RunUnshelveServer(WorkflowDeps& deps, const task::v1::Task& task) {
  const std::string event = "compute_unshelve_instance";
  auto loaded = Load(deps, task, "unshelving", event, "instance.unshelve");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  const Loaded& l = **loaded;
  TestPoint("unshelve.notified");
  // The host's rule for every share (there already unless offloaded).
  for (const ShareMapping& m : l.mappings) {
    if (m.status != "inactive") continue;
    auto rule = GrantAccess(deps, task, m, l.server, l.host);
    if (rule.status().code() == absl::StatusCode::kUnavailable) {
      return rule.status();  // runs again
    }
    if (!rule.ok()) {
      const std::string reason =
          absl::StrCat("Failed to unshelve server ", l.server.uuid,
                       ": failed to grant access to share '", m.share_id,
                       "': ", rule.status().message());
      SP_LOG(Warning) << reason;
      return Record(deps, task, l, "error", 0, {}, "", event, reason);
    }
    SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
      SetShareMappingAccessId(w, m.uuid, *rule);
      return absl::OkStatus();
    }));
  }
  TestPoint("unshelve.granted");
  auto spec = BuildSpec(deps, task, l, {"inactive"});
  absl::Status s = spec.status();
  if (s.ok()) s = deps.agents.PowerOn(l.host, *spec).status();
  TestPoint("unshelve.agent_called");
  if (!s.ok()) {
    const std::string reason = absl::StrCat("Failed to unshelve server ",
                                            l.server.uuid, ": ", s.message());
    SP_LOG(Warning) << reason;
    return Record(deps, task, l, "error", 0, {"inactive"}, "error", event,
                  reason);
  }
  SP_LOG(Info) << "Server " << l.server.uuid << " unshelved on "
               << l.host.hostname << " with " << spec->filesystems_size()
               << " shares";
  return Record(deps, task, l, "active", kRunning, {"inactive"}, "active",
                event, "", "instance.unshelve");
}

}  // namespace shareplane
