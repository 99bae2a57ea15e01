// Server lifecycle workflows: create, start, stop, reboot and delete, each
// driving the host's agent and moving the server and its share mappings
// through their states (spec/SHARES.md sections 2 and 5).
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/core/test_point.h"
#include "conductor/agent_client.h"
#include "conductor/server_steps.h"
#include "conductor/workflow.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

void RecordServerOvertaken(pqxx::transaction_base& w,
                           const task::v1::Task& task,
                           const std::optional<Server>& server,
                           const std::string& event) {
  RecordActionEventOnce(
      w, task.server_uuid(), task.request_id(), event, "Error",
      server ? absl::StrCat("Overtaken: the server is ", server->vm_state,
                            server->task_state.empty()
                                ? ""
                                : " (" + server->task_state + ")")
             : "Overtaken: the server was deleted");
}

// Loads the server if its task_state is `expected_task_state`, and queues
// `notification`.start about it (none when ""); nullopt when there is
// nothing to do: a redelivered task (its event is there), or a request
// another one overtook (a delete during a stop), whose action then gets
// `event` saying so.
absl::StatusOr<std::optional<Loaded>> Load(WorkflowDeps& deps,
                                           const task::v1::Task& task,
                                           const std::string& expected,
                                           const std::string& event,
                                           const std::string& notification) {
  std::optional<Loaded> out;
  absl::Status s = deps.db.Transact([&](pqxx::work& w) {
    auto server = GetServer(w, task.server_uuid());
    if (!server && expected == "deleting") {
      // A second delete, or a redelivery: what it asked for holds.
      RecordActionEventOnce(w, task.server_uuid(), task.request_id(), event,
                            "Success", "The server was already deleted.");
      return absl::OkStatus();
    }
    if (!server || server->task_state != expected) {
      RecordServerOvertaken(w, task, server, event);
      return absl::OkStatus();
    }
    auto host =
        server->host.empty() ? std::nullopt : GetComputeHost(w, server->host);
    Loaded l;
    l.server = *server;
    if (host) l.host = *host;
    l.flavor = GetFlavor(w, server->flavor_id);
    l.mappings = ListShareMappings(w, server->uuid);
    if (!notification.empty()) {
      Notify(w, deps.options.notifications, notification + ".start", task,
             l.server, l.flavor, "", "");
    }
    out = std::move(l);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

// The spec the agent needs; shares in `statuses` become filesystems. CephFS
// keys come from Manila's rule list.
absl::StatusOr<agent::v1::ServerSpec> BuildSpec(
    WorkflowDeps& deps, const task::v1::Task& task, const Loaded& l,
    const std::set<std::string>& statuses) {
  agent::v1::ServerSpec spec;
  spec.set_server_uuid(l.server.uuid);
  spec.set_name(l.server.name);
  spec.set_image_ref(l.server.image_ref);
  const Flavor flavor = l.flavor.value_or(Flavor());  // gone: the defaults
  spec.set_vcpus(flavor.vcpus);
  spec.set_memory_mb(flavor.ram_mb);
  spec.set_huge_pages(WantsHugePages(flavor));
  for (const ShareMapping& m : l.mappings) {
    if (!statuses.count(m.status)) continue;
    SP_ASSIGN_OR_RETURN(*spec.add_filesystems(),
                        FilesystemFor(deps, task, m, l.host));
  }
  return spec;
}

// Applies the outcome: the server's new state and, for every mapping in
// `from`, its new status. Compare-and-set on the server; mappings that
// changed meanwhile are left alone.
absl::Status Record(WorkflowDeps& deps, const task::v1::Task& task,
                    const Loaded& l, const std::string& vm_state,
                    int power_state, const std::set<std::string>& from,
                    const std::string& mapping_status, const std::string& event,
                    const std::string& error, const std::string& notification) {
  return deps.db.Transact([&](pqxx::work& w) {
    if (!UpdateServerState(w, l.server.uuid, l.server.version, vm_state, "",
                           power_state)) {
      // Another request took the server over (a delete during a stop):
      // its state is that request's to set, but this one still ends with
      // an event saying what it did.
      auto now = GetServer(w, l.server.uuid);
      const std::string then =
          now ? absl::StrCat(now->vm_state, now->task_state.empty()
                                                ? ""
                                                : " (" + now->task_state + ")")
              : "deleted";
      SP_LOG(Info) << "Server " << l.server.uuid << " changed meanwhile (now "
                   << then << "); leaving it as it is";
      RecordActionEventOnce(
          w, l.server.uuid, task.request_id(), event,
          error.empty() ? "Success" : "Error",
          absl::StrCat(error, error.empty() ? "" : "; ",
                       "the server was taken over meanwhile (now ", then, ")"));
      return absl::OkStatus();
    }
    for (const ShareMapping& m : l.mappings) {
      if (from.count(m.status) && m.status != mapping_status) {
        UpdateShareMappingStatus(w, m.uuid, m.version, mapping_status, "",
                                 mapping_status == "error" ? error : "");
      }
    }
    RecordActionEvent(w, l.server.uuid, task.request_id(), event,
                      error.empty() ? "Success" : "Error", error);
    // Of these only instance.create has an .error event in Nova; a failed
    // power-on shows as the server and its shares in error.
    const std::string notify =
        !notification.empty() && error.empty() ? notification + ".end"
        : notification == "instance.create"    ? "instance.create.error"
                                               : "";
    if (notify.empty()) return absl::OkStatus();
    // The server as the update left it (its updated_at is the database's).
    if (auto now = GetServer(w, l.server.uuid)) {
      Notify(w, deps.options.notifications, notify, task, *now, l.flavor, "",
             error);
    }
    return absl::OkStatus();
  });
}

namespace {

absl::Status PowerOnFlow(WorkflowDeps& deps, const task::v1::Task& task,
                         const std::string& task_state,
                         const std::set<std::string>& shares,
                         const std::string& event, bool reboot, bool hard,
                         const std::string& notification = "") {
  auto loaded = Load(deps, task, task_state, event, notification);
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  const Loaded& l = **loaded;
  TestPoint("power_on.notified");
  auto spec = BuildSpec(deps, task, l, shares);
  absl::Status s = spec.status();
  if (s.ok()) {
    s = reboot ? deps.agents.Reboot(l.host, *spec, hard).status()
               : deps.agents.PowerOn(l.host, *spec).status();
  }
  TestPoint("power_on.agent_called");
  if (!s.ok()) {
    const std::string reason = absl::StrCat("Failed to start server ",
                                            l.server.uuid, ": ", s.message());
    SP_LOG(Warning) << reason;
    return Record(deps, task, l, "error", 0, shares, "error", event, reason,
                  notification);
  }
  SP_LOG(Info) << "Server " << l.server.uuid << " is running with "
               << spec->filesystems_size() << " shares";
  SP_RETURN_IF_ERROR(Record(deps, task, l, "active", kRunning, shares, "active",
                            event, "", notification));
  TestPoint("power_on.recorded");
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCreateServer(WorkflowDeps& deps, const task::v1::Task& task) {
  return PowerOnFlow(deps, task, "spawning", {}, "compute_build_and_run", false,
                     false, "instance.create");
}

absl::Status RunStartServer(WorkflowDeps& deps, const task::v1::Task& task) {
  return PowerOnFlow(deps, task, "powering-on", {"inactive", "active"},
                     "compute_start_instance", false, false,
                     "instance.power_on");
}

absl::Status RunRebootServer(WorkflowDeps& deps, const task::v1::Task& task) {
  // A hard reboot is the way back from error: it remounts errored shares.
  if (task.hard()) {
    return PowerOnFlow(deps, task, "rebooting_hard",
                       {"inactive", "active", "error"},
                       "compute_reboot_instance", true, true);
  }
  return PowerOnFlow(deps, task, "rebooting", {"inactive", "active"},
                     "compute_reboot_instance", true, false);
}

// Rebuild (BEYOND.md section 4): the domain redefined from the new image
// with the same shares, the host's mounts kept throughout. A stopped server
// stays stopped, as in Nova: its next start defines the domain from the
// new image (a start always does).
absl::Status RunRebuildServer(WorkflowDeps& deps, const task::v1::Task& task) {
  const std::string event = "compute_rebuild_instance";
  auto loaded = Load(deps, task, "rebuilding", event, "instance.rebuild");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  const Loaded& l = **loaded;
  TestPoint("rebuild.notified");
  if (l.server.vm_state == "stopped") {
    return Record(deps, task, l, "stopped", kShutdown, {}, "", event, "",
                  "instance.rebuild");
  }
  // From error too, as a hard reboot: errored shares are mounted again.
  const std::set<std::string> shares = {"inactive", "active", "error"};
  auto spec = BuildSpec(deps, task, l, shares);
  absl::Status s = spec.status();
  if (s.ok()) s = deps.agents.Rebuild(l.host, *spec).status();
  TestPoint("rebuild.agent_called");
  if (!s.ok()) {
    const std::string reason = absl::StrCat("Failed to rebuild server ",
                                            l.server.uuid, ": ", s.message());
    SP_LOG(Warning) << reason;
    return Record(deps, task, l, "error", 0, shares, "error", event, reason,
                  "instance.rebuild");
  }
  SP_LOG(Info) << "Server " << l.server.uuid << " rebuilt from imageRef '"
               << l.server.image_ref << "' with " << spec->filesystems_size()
               << " shares";
  return Record(deps, task, l, "active", kRunning, shares, "active", event, "",
                "instance.rebuild");
}

absl::Status RunStopServer(WorkflowDeps& deps, const task::v1::Task& task) {
  auto loaded = Load(deps, task, "powering-off", "compute_stop_instance",
                     "instance.power_off");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  const Loaded& l = **loaded;
  TestPoint("power_off.notified");
  absl::Status s = deps.agents.PowerOff(l.host, l.server.uuid).status();
  TestPoint("power_off.agent_called");
  if (!s.ok()) {
    const std::string reason = absl::StrCat("Failed to stop server ",
                                            l.server.uuid, ": ", s.message());
    SP_LOG(Warning) << reason;
    return Record(deps, task, l, "error", 0, {}, "", "compute_stop_instance",
                  reason);
  }
  return Record(deps, task, l, "stopped", kShutdown, {"active"}, "inactive",
                "compute_stop_instance", "", "instance.power_off");
}

// A delete that could not finish: the server is ERROR with the reason (a
// second delete tries again, as in Nova), its shares as they are.
absl::Status DeleteFailed(WorkflowDeps& deps, const task::v1::Task& task,
                          const Loaded& l, const std::string& reason) {
  SP_LOG(Warning) << "Failed to delete server " << l.server.uuid << ": "
                  << reason;
  return Record(deps, task, l, "error", 0, {}, "", "compute_terminate", reason);
}

// A server deleted in the middle of a move (or in VERIFY_RESIZE) is on a
// second host too: its guest and mounts go there first (its rules with the
// shares'); that host, if any.
absl::StatusOr<std::optional<ComputeHost>> RemoveFromMigrationHost(
    WorkflowDeps& deps, const Loaded& l) {
  std::optional<ComputeHost> other;
  if (l.server.migration_host.empty()) return other;
  SP_RETURN_IF_ERROR(deps.db.Read([&](pqxx::transaction_base& w) {
    other = GetComputeHost(w, l.server.migration_host);
    return absl::OkStatus();
  }));
  if (other && !other->agent_endpoint.empty()) {
    absl::Status s = deps.agents.DeleteServer(*other, l.server.uuid).status();
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("Failed to remove server ", l.server.uuid,
                                 " from ", other->hostname, ": ", s.message()));
    }
  }
  return other;
}

absl::Status RunDeleteServer(WorkflowDeps& deps, const task::v1::Task& task) {
  auto loaded =
      Load(deps, task, "deleting", "compute_terminate", "instance.delete");
  if (!loaded.ok()) return loaded.status();
  if (!*loaded) return absl::OkStatus();
  const Loaded& l = **loaded;
  if (!l.host.agent_endpoint.empty()) {
    absl::Status s = deps.agents.PowerOff(l.host, l.server.uuid).status();
    TestPoint("delete.powered_off");
    if (!s.ok()) {
      return DeleteFailed(deps, task, l,
                          absl::StrCat("Failed to stop server ", l.server.uuid,
                                       " for deletion: ", s.message()));
    }
  }
  auto other = RemoveFromMigrationHost(deps, l);
  if (!other.ok()) {
    return DeleteFailed(deps, task, l, std::string(other.status().message()));
  }
  // Detach every share: revoke unless still used, then drop the mapping. A
  // share that cannot be revoked is marked error, never left silently.
  int failed = 0;
  for (const ShareMapping& m : l.mappings) {
    SessionLock share_lock(deps.db, kShareLockSpace, m.share_id);
    SP_RETURN_IF_ERROR(share_lock.Verify());
    absl::Status r = RevokeAccessIfUnused(deps, task, m, l.host);
    if (r.ok() && *other && m.share_proto != "CEPHFS") {
      ShareMapping there = m;
      there.access_id.clear();  // the recorded rule is the other host's
      r = RevokeAccessIfUnused(deps, task, there, **other);
    }
    SP_RETURN_IF_ERROR(share_lock.Verify());
    absl::Status s = deps.db.Transact([&](pqxx::work& w) {
      if (!r.ok()) {
        ++failed;
        UpdateShareMappingStatus(
            w, m.uuid, m.version, "error", "",
            absl::StrCat("Failed to revoke access to share '", m.share_id,
                         "' while deleting the server: ", r.message()));
        return absl::OkStatus();
      }
      DeleteShareMapping(w, m.uuid, m.version);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    TestPoint("delete.share_detached");
  }
  if (failed > 0) {
    return DeleteFailed(
        deps, task, l, absl::StrCat(failed, " share(s) could not be detached"));
  }
  if (!l.host.agent_endpoint.empty()) {
    absl::Status s = deps.agents.DeleteServer(l.host, l.server.uuid).status();
    TestPoint("delete.undefined");
    if (!s.ok()) {
      return DeleteFailed(deps, task, l,
                          absl::StrCat("Failed to undefine server ",
                                       l.server.uuid, ": ", s.message()));
    }
  }
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    // As loaded: the mark below compares the version, or all rolls back.
    Notify(w, deps.options.notifications, "instance.delete.end", task, l.server,
           l.flavor, "", "");
    if (MarkServerDeleted(w, l.server.uuid, l.server.version)) {
      RecordActionEvent(w, l.server.uuid, task.request_id(),
                        "compute_terminate", "Success", "");
      SP_LOG(Info) << "Server " << l.server.uuid << " deleted";
    } else {
      return absl::AbortedError("server changed while being deleted");
    }
    return absl::OkStatus();
  }));
  TestPoint("delete.recorded");
  return absl::OkStatus();
}

}  // namespace shareplane
