#include "conductor/workflow.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/config.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/core/test_point.h"
#include "shareplane/agent/v1/agent.pb.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

WorkflowOptions WorkflowOptionsFrom(const Config& c, bool keystone) {
  WorkflowOptions o;
  o.keystone = keystone;
  o.access_rule_timeout =
      std::chrono::seconds(c.GetInt("manila", "access_rule_timeout", 60));
  o.access_rule_poll =
      std::chrono::milliseconds(c.GetInt("manila", "access_rule_poll_ms", 10));
  o.access_rule_poll_max = std::chrono::milliseconds(
      c.GetInt("manila", "access_rule_poll_max_ms", 2000));
  o.manila_retry.max_attempts = c.GetInt("manila", "retry_attempts", 5);
  o.cephx_id = c.GetString("manila", "cephx_id", "nova");
  o.offload_at_once = c.GetInt("DEFAULT", "shelved_offload_time", 0) == 0;
  o.service_token = c.GetString("manila", "service_user", "nova") + ":" +
                    c.GetString("manila", "service_project", "service");
  o.notifications.enabled = c.GetBool("notifications", "enabled", true);
  o.notifications.exchange = c.GetString("notifications", "exchange", "nova");
  o.notifications.include_share_mapping =
      c.GetBool("notifications", "include_share_mapping", false);
  char name[256] = {0};
  gethostname(name, sizeof(name) - 1);
  o.notifications.publisher_id =
      "shareplane-conductor:" + c.GetString("DEFAULT", "host", name);
  return o;
}

AccessTarget AccessTargetFor(const ShareMapping& m, const ComputeHost& host,
                             const WorkflowOptions& options) {
  if (m.share_proto == "CEPHFS") return {"cephx", options.cephx_id};
  return {"ip", host.storage_ip};
}

ManilaAuth AuthFor(const task::v1::Task& task, const WorkflowOptions& options) {
  ManilaAuth auth;
  auth.request_id = task.global_request_id().empty() ? task.request_id()
                                                     : task.global_request_id();
  if (options.keystone) {
    auth.token = task.auth_token();
  } else {
    auth.token = task.user_id() + ":" + task.project_id();
    auth.service_token = options.service_token;
  }
  return auth;
}

std::optional<ManilaAccessRule> FindRule(
    const std::vector<ManilaAccessRule>& rules, const AccessTarget& target) {
  auto normalize = [&](std::string s) {
    if (target.type == "ip" && absl::EndsWith(s, "/32")) s.resize(s.size() - 3);
    return s;
  };
  for (const auto& r : rules) {
    if (r.access_type == target.type &&
        normalize(r.access_to) == normalize(target.to)) {
      return r;
    }
  }
  return std::nullopt;
}

absl::Status WaitActive(WorkflowDeps& deps, const task::v1::Task& task,
                        const std::string& share_id,
                        const AccessTarget& target) {
  const ManilaAuth auth = AuthFor(task, deps.options);
  return PollUntil(
      deps.clock, deps.options.access_rule_timeout,
      deps.options.access_rule_poll,
      absl::StrCat("access rule ", target.type, ":", target.to,
                   " to become active"),
      [&]() -> absl::StatusOr<bool> {
        std::vector<ManilaAccessRule> rules;
        absl::Status s =
            Retry(deps.clock, deps.options.manila_retry, [&]() -> absl::Status {
              SP_ASSIGN_OR_RETURN(rules,
                                  deps.manila.ListAccessRules(share_id, auth));
              return absl::OkStatus();
            });
        if (!s.ok()) return s;
        auto rule = FindRule(rules, target);
        if (!rule) return absl::NotFoundError("access rule disappeared");
        if (rule->state == "error") {
          return absl::FailedPreconditionError("access rule went to error");
        }
        return rule->state == "active";
      },
      deps.options.access_rule_poll_max);
}

bool IsBeingDenied(const ManilaAccessRule& rule) {
  return rule.state == "queued_to_deny" || rule.state == "denying";
}

namespace {

// The rule kept for other mappings drops to the level they need ("ro" once
// the last read-write one left), where Manila can change it in place.
absl::Status KeepRuleAt(WorkflowDeps& deps, const task::v1::Task& task,
                        const ShareMapping& m, const AccessTarget& target,
                        const std::string& level) {
  if (level != "ro") return absl::OkStatus();
  const ManilaAuth auth = AuthFor(task, deps.options);
  SP_ASSIGN_OR_RETURN(auto rules,
                      deps.manila.ListAccessRules(m.share_id, auth));
  auto rule = FindRule(rules, target);
  if (!rule || rule->access_level == level || IsBeingDenied(*rule)) {
    return absl::OkStatus();
  }
  if (!ManilaUpdatesAccessLevel(deps, auth)) {
    SP_LOG(Info) << "Share " << m.share_id << " keeps its rw rule for "
                 << "read-only attachments: Manila has no access-level update "
                 << "(2.88)";
    return absl::OkStatus();
  }
  return SetRuleLevel(deps, task, m.share_id, *rule, level);
}

}  // namespace

bool ManilaUpdatesAccessLevel(WorkflowDeps& deps, const ManilaAuth& auth) {
  auto minor = deps.manila.MaxMicroversionMinor(auth);
  return minor.ok() && *minor >= 88;
}

absl::Status SetRuleLevel(WorkflowDeps& deps, const task::v1::Task& task,
                          const std::string& share_id,
                          const ManilaAccessRule& rule,
                          const std::string& level) {
  const ManilaAuth auth = AuthFor(task, deps.options);
  SP_RETURN_IF_ERROR(
      Retry(deps.clock, deps.options.manila_retry, [&]() -> absl::Status {
        return deps.manila.UpdateAccessLevel(rule.id, level, auth);
      }));
  SP_LOG(Info) << "Access rule " << rule.id << " of share " << share_id
               << " is now " << level << " (was " << rule.access_level << ")";
  TestPoint("access_level.updated");
  return WaitActive(deps, task, share_id, {rule.access_type, rule.access_to});
}

absl::StatusOr<agent::v1::Filesystem> FilesystemFor(WorkflowDeps& deps,
                                                    const task::v1::Task& task,
                                                    const ShareMapping& m,
                                                    const ComputeHost& host,
                                                    bool with_key) {
  agent::v1::Filesystem fs;
  fs.set_mapping_uuid(m.uuid);
  fs.set_share_id(m.share_id);
  fs.set_export_location(m.export_location);
  fs.set_tag(m.tag);
  fs.set_share_proto(m.share_proto);
  fs.set_read_only(m.access_level == "ro");
  if (m.share_proto != "CEPHFS" || !with_key) return fs;
  const AccessTarget target = AccessTargetFor(m, host, deps.options);
  SP_ASSIGN_OR_RETURN(auto rules, deps.manila.ListAccessRules(
                                      m.share_id, AuthFor(task, deps.options)));
  auto rule = FindRule(rules, target);
  if (!rule || rule->access_key.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("No active cephx access for share '", m.share_id, "'"));
  }
  fs.set_cephx_id(target.to);
  fs.set_cephx_key(rule->access_key);
  return fs;
}

absl::Status RevokeAccessIfUnused(WorkflowDeps& deps,
                                  const task::v1::Task& task,
                                  const ShareMapping& m,
                                  const ComputeHost& host) {
  const bool per_host = m.share_proto != "CEPHFS";
  RuleUsers users;
  SP_RETURN_IF_ERROR(deps.db.Read([&](pqxx::transaction_base& w) {
    users = OtherRuleUsers(w, m.share_id, m.uuid, host.hostname, per_host);
    return absl::OkStatus();
  }));
  AccessTarget target = AccessTargetFor(m, host, deps.options);
  const ManilaAuth auth = AuthFor(task, deps.options);
  if (users.count > 0) {
    SP_LOG(Info) << "Access rule of share " << m.share_id
                 << " is still used by other mappings; keeping it";
    return KeepRuleAt(deps, task, m, target, users.level);
  }
  SP_RETURN_IF_ERROR(
      Retry(deps.clock, deps.options.manila_retry, [&]() -> absl::Status {
        auto rules = deps.manila.ListAccessRules(m.share_id, auth);
        if (rules.status().code() == absl::StatusCode::kNotFound) {
          return absl::OkStatus();  // share gone: nothing to revoke
        }
        if (!rules.ok()) return rules.status();
        // The rule that was granted, by its recorded id: the host's
        // address may have changed since (else by what it grants).
        std::optional<ManilaAccessRule> rule;
        for (const auto& r : *rules) {
          if (!m.access_id.empty() && r.id == m.access_id) rule = r;
        }
        if (rule) {
          target = {rule->access_type, rule->access_to};
        } else {
          rule = FindRule(*rules, target);
        }
        // Gone, or a revoke already asked for (this step is being repeated).
        if (!rule || IsBeingDenied(*rule)) return absl::OkStatus();
        absl::Status s = deps.manila.DenyAccess(m.share_id, rule->id, auth);
        if (s.code() == absl::StatusCode::kNotFound) s = absl::OkStatus();
        if (s.ok()) {
          SP_LOG(Info) << "Revoked " << target.type << " access on share "
                       << m.share_id << " (rule " << rule->id << ")";
          TestPoint("detach.revoke_requested");
        }
        return s;
      }));
  return deps.db.Transact([&](pqxx::work& w) {
    ForgetAccessGrant(w, m.share_id, target.type, target.to);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<OrphanRule>> FindOrphanRules(
    WorkflowDeps& deps, int older_than_seconds) {
  std::vector<AccessGrant> grants;
  SP_RETURN_IF_ERROR(deps.db.Read([&](pqxx::transaction_base& w) {
    grants = ListUnusedAccessGrants(w, older_than_seconds);
    return absl::OkStatus();
  }));
  std::vector<OrphanRule> out;
  for (const AccessGrant& g : grants) {
    task::v1::Task owner;  // no user request behind this: the grant's owner
    owner.set_project_id(g.project_id);
    owner.set_user_id(g.user_id);
    auto rules =
        deps.manila.ListAccessRules(g.share_id, AuthFor(owner, deps.options));
    std::optional<ManilaAccessRule> rule;
    if (rules.ok()) {
      rule = FindRule(*rules, {g.access_type, g.access_to});
    } else if (rules.status().code() != absl::StatusCode::kNotFound) {
      return rules.status();
    }
    if (rule && !IsBeingDenied(*rule)) {
      out.push_back({g.share_id, rule->id, g.access_type, g.access_to});
      continue;
    }
    // Gone from Manila (or the share is): nothing left to account for,
    // unless a mapping started to need it meanwhile (checked again).
    SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
      LockShareAccess(w, g.share_id);
      ForgetAccessGrantIfUnused(w, g);
      return absl::OkStatus();
    }));
  }
  return out;
}

}  // namespace shareplane
