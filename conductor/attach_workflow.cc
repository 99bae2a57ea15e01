// Attach: grant the server's host access to the share in Manila (locked
// rule, at the level its attachments need), wait for it to be active, then
// mark the mapping inactive; on a running server hot-plug it first and mark
// it active.
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/core/test_point.h"
#include "conductor/agent_client.h"
#include "conductor/workflow.h"
#include "shareplane/agent/v1/agent.pb.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

struct Loaded {
  ShareMapping mapping;
  Server server;
  std::optional<Flavor> flavor;  // the server's, for its notifications
  ComputeHost host;
};

// A read-only rule a read-write attachment needs raised: in place where
// Manila updates access levels (2.88), so its read-only users keep access
// throughout. An older Manila can only revoke and grant again, which is
// refused while another attachment uses the rule (the API answers 409
// first; this is the race behind it); with none, the rule is revoked and
// the caller's loop grants it again once it is gone.
absl::Status RaiseToReadWrite(WorkflowDeps& deps, const ManilaAuth& auth,
                              const Loaded& l, const ManilaAccessRule& rule,
                              int others_active) {
  if (ManilaUpdatesAccessLevel(deps, auth)) {
    SP_RETURN_IF_ERROR(deps.manila.UpdateAccessLevel(rule.id, "rw", auth));
    SP_LOG(Info) << "Access rule " << rule.id << " of share "
                 << l.mapping.share_id << " raised to rw";
    TestPoint("access_level.updated");
    return absl::OkStatus();
  }
  if (others_active > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Share ", l.mapping.share_id,
        " is attached read-only to a running server on this host; a "
        "read-write attachment needs Manila's access-level update "
        "(microversion 2.88), which this Manila does not have"));
  }
  SP_RETURN_IF_ERROR(deps.manila.DenyAccess(l.mapping.share_id, rule.id, auth));
  return absl::UnavailableError(
      "the read-only rule is being revoked to be granted read-write");
}

// What the attach found under the share's lock, with the grant recorded.
struct GrantPlan {
  bool attaching = false;        // the mapping still is in `expected`
  bool address_changed = false;  // the host's address is not the target's
  std::string level;             // the highest any of the rule's users needs
  int others_active = 0;         // other attachments in use with the rule
};

// The grant is recorded under the lock, before Manila is asked: a detach's
// ForgetAccessGrant cannot drop it in between, and a rule granted by a
// conductor that then died is never unaccounted for.
absl::StatusOr<GrantPlan> RecordGrant(WorkflowDeps& deps,
                                      const task::v1::Task& task,
                                      const Loaded& l,
                                      const AccessTarget& target,
                                      const std::string& expected) {
  GrantPlan plan;
  plan.level = l.mapping.access_level;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    // The address granted to is the host's until this commits (a
    // registration that would change it waits, then sees the grant).
    if (target.type == "ip") {
      auto address =
          LockComputeHostAddress(w, l.host.hostname, /*exclusive=*/false);
      if (!address || *address != target.to) {
        plan.address_changed = true;
        return absl::OkStatus();
      }
    }
    auto current = GetShareMapping(w, l.mapping.uuid);
    plan.attaching = current && current->status == expected;
    if (plan.attaching) {
      RecordAccessGrant(w, {l.mapping.share_id, target.type, target.to,
                            task.project_id(), task.user_id()});
      const RuleUsers users =
          OtherRuleUsers(w, l.mapping.share_id, l.mapping.uuid, l.host.hostname,
                         l.mapping.share_proto != "CEPHFS");
      if (users.level == "rw") plan.level = "rw";
      plan.others_active = users.active;
    }
    return absl::OkStatus();
  }));
  return plan;
}

// Finds or creates the rule under the share's session lock, so a
// concurrent detach on the same host cannot revoke it in between; Manila is
// called outside any transaction. Returns "" when the mapping stopped being
// in `expected` (attaching, for an attach) meanwhile (a detach came first).
// Sets `rerun` when the task must run again: the lock's session ended, or the
// host's address changed since the attach loaded it.
absl::StatusOr<std::string> EnsureRule(
    WorkflowDeps& deps, const task::v1::Task& task, const Loaded& l,
    const AccessTarget& target, const std::string& expected, bool& rerun) {
  const ManilaAuth auth = AuthFor(task, deps.options);
  SessionLock share_lock(deps.db, kShareLockSpace, l.mapping.share_id);
  SP_RETURN_IF_ERROR(share_lock.status());
  // A detach that ran first (it takes the same lock) must not be followed
  // by a grant nobody will revoke.
  SP_ASSIGN_OR_RETURN(const GrantPlan plan,
                      RecordGrant(deps, task, l, target, expected));
  const bool attaching = plan.attaching, address_changed = plan.address_changed;
  const std::string& needed = plan.level;
  const int others_active = plan.others_active;
  if (address_changed) {
    rerun = true;  // loaded with the old address: load again
    return absl::FailedPreconditionError("the host's storage address changed");
  }
  if (!attaching) return std::string();
  std::string rule_id;
  SP_RETURN_IF_ERROR(
      Retry(deps.clock, deps.options.manila_retry, [&]() -> absl::Status {
        SP_ASSIGN_OR_RETURN(
            auto rules, deps.manila.ListAccessRules(l.mapping.share_id, auth));
        if (auto rule = FindRule(rules, target)) {
          // A revoke in flight (a detach on the same host just finished):
          // grant again once it is gone.
          if (IsBeingDenied(*rule)) {
            return absl::UnavailableError("access rule is being revoked");
          }
          if (rule->access_level == "ro" && needed == "rw") {
            if (!share_lock.Verify().ok()) {
              rerun = true;
              return absl::FailedPreconditionError("share lock lost");
            }
            SP_RETURN_IF_ERROR(
                RaiseToReadWrite(deps, auth, l, *rule, others_active));
          }
          rule_id = rule->id;
          return absl::OkStatus();
        }
        // Never retried blindly: a grant whose answer was lost is found by
        // the listing above on the next attempt. Only while the share's
        // lock is still ours (its session may have ended meanwhile).
        if (!share_lock.Verify().ok()) {
          rerun = true;
          return absl::FailedPreconditionError("share lock lost");  // stop
        }
        auto created = deps.manila.AllowAccess(
            l.mapping.share_id, target.type, target.to,
            absl::StrCat("Locked by shareplane for server ", l.server.uuid),
            needed, auth);
        if (created.status().code() == absl::StatusCode::kAlreadyExists) {
          return absl::UnavailableError("access rule appeared meanwhile");
        }
        if (!created.ok()) return created.status();
        rule_id = created->id;
        TestPoint("attach.grant_requested");
        return absl::OkStatus();
      }));
  return rule_id;
}

// Moves the mapping from attaching to `status`; a lost race (the mapping was
// detached or changed meanwhile) leaves it alone.
absl::Status Finish(WorkflowDeps& deps, const task::v1::Task& task,
                    const Loaded& l, const std::string& status,
                    const std::string& access_id, const std::string& error) {
  const ShareMapping& m = l.mapping;
  return deps.db.Transact([&](pqxx::work& w) {
    if (!UpdateShareMappingStatus(w, m.uuid, m.version, status, access_id,
                                  error)) {
      SP_LOG(Info) << "Mapping " << m.uuid
                   << " changed while attaching; leaving it as it is";
      RecordActionEventOnce(w, m.server_uuid, task.request_id(),
                            "compute_attach_share", "Error",
                            "The share was detached before it was attached.");
      return absl::OkStatus();
    }
    RecordActionEvent(w, m.server_uuid, task.request_id(),
                      "compute_attach_share",
                      status == "error" ? "Error" : "Success", error);
    // The server as it is now: only the mapping was compared and set, and
    // a delete may have come meanwhile.
    if (auto server = GetServer(w, task.server_uuid())) {
      Notify(w, deps.options.notifications,
             status == "error" ? "instance.share_attach.error"
                               : "instance.share_attach.end",
             task, *server, l.flavor, m.share_id, error);
    }
    return absl::OkStatus();
  });
}

// An attach that finds its mapping detached (or being detached) before
// any access was granted still ends with an event: the request was
// accepted, and its action must say how it ended.
absl::Status RecordOvertaken(WorkflowDeps& deps, const task::v1::Task& task) {
  return deps.db.Transact([&](pqxx::work& w) {
    RecordActionEventOnce(w, task.server_uuid(), task.request_id(),
                          "compute_attach_share", "Error",
                          "The share was detached before it was attached.");
    return absl::OkStatus();
  });
}

// An attach that finds its mapping final without having finished it
// (another task put it in error, e.g. a failed delete of the server; or a
// redelivery after it was done) ends its action with the mapping's state.
absl::Status RecordSettled(WorkflowDeps& deps, const task::v1::Task& task,
                           const ShareMapping& m) {
  return deps.db.Transact([&](pqxx::work& w) {
    RecordActionEventOnce(w, task.server_uuid(), task.request_id(),
                          "compute_attach_share",
                          m.status == "error" ? "Error" : "Success",
                          m.status == "error" ? m.error_message : "");
    return absl::OkStatus();
  });
}

absl::Status HotPlug(WorkflowDeps& deps, const task::v1::Task& task,
                     const Loaded& l) {
  SP_ASSIGN_OR_RETURN(const agent::v1::Filesystem fs,
                      FilesystemFor(deps, task, l.mapping, l.host));
  return deps.agents.AttachFilesystem(l.host, l.server.uuid, fs).status();
}

// The rule is active: a running server gets the share at once (BEYOND.md
// section 2), then the mapping is recorded active; a stopped one's
// inactive.
absl::Status Complete(WorkflowDeps& deps, const task::v1::Task& task,
                      const Loaded& l, const std::string& rule_id) {
  std::string status = "inactive";
  if (l.server.vm_state == "active") {
    if (absl::Status h = HotPlug(deps, task, l); !h.ok()) {
      std::string reason =
          absl::StrCat("Failed to attach share '", l.mapping.share_id,
                       "' to the running server: ", h.message());
      SP_LOG(Warning) << reason;
      return Finish(deps, task, l, "error", rule_id, reason);
    }
    status = "active";
    TestPoint("attach.hot_plugged");
  }
  SP_LOG(Info) << "Share " << l.mapping.share_id << " attached to server "
               << l.server.uuid << " (rule " << rule_id << ", " << status
               << ")";
  SP_RETURN_IF_ERROR(Finish(deps, task, l, status, rule_id, ""));
  TestPoint("attach.recorded");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> GrantAccess(WorkflowDeps& deps,
                                        const task::v1::Task& task,
                                        const ShareMapping& m,
                                        const Server& server,
                                        const ComputeHost& host) {
  Loaded l;
  l.mapping = m;
  l.server = server;
  l.host = host;
  const AccessTarget target = AccessTargetFor(m, host, deps.options);
  bool rerun = false;
  auto rule_id = EnsureRule(deps, task, l, target, m.status, rerun);
  if (rerun) {
    return absl::UnavailableError(absl::StrCat("Granting access stopped (",
                                               rule_id.status().message(),
                                               "); the task runs again"));
  }
  if (!rule_id.ok() || rule_id->empty()) return rule_id;
  SP_RETURN_IF_ERROR(WaitActive(deps, task, m.share_id, target));
  return rule_id;
}

absl::Status RunAttach(WorkflowDeps& deps, const task::v1::Task& task) {
  Loaded l;
  bool skip = false, overtaken = false, offloaded = false;
  std::optional<ShareMapping> settled;
  std::string load_error;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    auto m = GetShareMapping(w, task.mapping_uuid());
    if (!m || m->status != "attaching") {
      // Done before (a redelivery), detached since, or put in error.
      skip = true;
      overtaken = !m || m->status == "detaching";
      if (!overtaken) settled = m;
      return absl::OkStatus();
    }
    l.mapping = *m;
    auto server = GetServer(w, m->server_uuid);
    if (server) l.flavor = GetFlavor(w, server->flavor_id);
    auto host = server && !server->host.empty()
                    ? GetComputeHost(w, server->host)
                    : std::nullopt;
    // Shelved and offloaded: no host to grant to; unshelve grants.
    offloaded = server && server->vm_state == "shelved_offloaded";
    if ((!server || !host) && !offloaded) {
      load_error = "server or its compute host no longer exists";
      return absl::OkStatus();
    }
    l.server = *server;
    if (host) l.host = *host;
    Notify(w, deps.options.notifications, "instance.share_attach.start", task,
           l.server, l.flavor, l.mapping.share_id, "");
    return absl::OkStatus();
  }));
  if (offloaded) {
    SP_LOG(Info) << "Share " << l.mapping.share_id << " attached to offloaded "
                 << "server " << l.server.uuid << "; unshelve grants its rule";
    return Finish(deps, task, l, "inactive", "", "");
  }
  if (skip) {
    SP_LOG(Info) << "Attach of mapping " << task.mapping_uuid()
                 << " has nothing left to do";
    return overtaken ? RecordOvertaken(deps, task)
                     : RecordSettled(deps, task, *settled);
  }
  if (!load_error.empty()) {
    return Finish(deps, task, l, "error", "", load_error);
  }
  TestPoint("attach.notified");
  const AccessTarget target = AccessTargetFor(l.mapping, l.host, deps.options);
  SP_LOG(Info) << "Granting " << target.type << " access on share "
               << l.mapping.share_id << " for server " << l.server.uuid;
  bool rerun = false;
  auto rule_id = EnsureRule(deps, task, l, target, "attaching", rerun);
  if (rerun) {
    // Not the attach's failure: its database session ended, or the host
    // got another address. Run it again.
    return absl::UnavailableError(absl::StrCat("Granting access stopped (",
                                               rule_id.status().message(),
                                               "); the task runs again"));
  }
  if (rule_id.ok() && rule_id->empty()) {
    SP_LOG(Info) << "Mapping " << l.mapping.uuid
                 << " was detached before access was granted";
    return RecordOvertaken(deps, task);
  }
  absl::Status s = rule_id.status();
  if (s.ok()) s = WaitActive(deps, task, l.mapping.share_id, target);
  if (!s.ok()) {
    std::string reason = absl::StrCat("Failed to grant access to share '",
                                      l.mapping.share_id, "': ", s.message());
    SP_LOG(Warning) << reason;
    return Finish(deps, task, l, "error", "", reason);
  }
  TestPoint("attach.rule_active");
  return Complete(deps, task, l, *rule_id);
}

}  // namespace shareplane
