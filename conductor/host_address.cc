#include "conductor/host_address.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

bool IsAddress(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

std::string Bare(std::string ip) {
  if (absl::EndsWith(ip, "/32")) ip.resize(ip.size() - 3);
  return ip;
}

// One share's rule: grant `to`, wait for it, record it on the host's
// mappings, revoke `from`. Under the share's lock, as attach and detach
// decide about its rules.
absl::Status MoveShare(WorkflowDeps& deps, const ComputeHost& host,
                       const AccessGrant& old_grant, const std::string& to,
                       std::ostream& progress) {
  SessionLock lock(deps.db, kShareLockSpace, old_grant.share_id);
  SP_RETURN_IF_ERROR(lock.status());
  task::v1::Task owner;  // no user request behind this: the grant's owner
  owner.set_project_id(old_grant.project_id);
  owner.set_user_id(old_grant.user_id);
  const ManilaAuth auth = AuthFor(owner, deps.options);
  const AccessTarget from{"ip", Bare(old_grant.access_to)}, target{"ip", to};
  // Recorded before Manila is asked, as an attach records its grant.
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    RecordAccessGrant(w, {old_grant.share_id, "ip", to, old_grant.project_id,
                          old_grant.user_id});
    return absl::OkStatus();
  }));
  std::string new_id, old_id;
  // The new address gets the old rule's level (read-only attachments).
  std::string level = "rw";
  SP_RETURN_IF_ERROR(
      Retry(deps.clock, deps.options.manila_retry, [&]() -> absl::Status {
        auto rules = deps.manila.ListAccessRules(old_grant.share_id, auth);
        if (!rules.ok()) return rules.status();
        if (auto old_rule = FindRule(*rules, from)) {
          old_id = old_rule->id;
          if (old_rule->access_level == "ro") level = "ro";
        }
        if (auto rule = FindRule(*rules, target)) {
          if (IsBeingDenied(*rule)) {
            return absl::UnavailableError("access rule is being revoked");
          }
          new_id = rule->id;
          return absl::OkStatus();
        }
        SP_RETURN_IF_ERROR(lock.Verify());
        auto created = deps.manila.AllowAccess(
            old_grant.share_id, "ip", to,
            absl::StrCat("Locked by shareplane for host ", host.hostname),
            level, auth);
        if (created.status().code() == absl::StatusCode::kAlreadyExists) {
          return absl::UnavailableError("access rule appeared meanwhile");
        }
        if (!created.ok()) return created.status();
        new_id = created->id;
        return absl::OkStatus();
      }));
  SP_RETURN_IF_ERROR(WaitActive(deps, owner, old_grant.share_id, target));
  SP_RETURN_IF_ERROR(lock.Verify());
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    SetHostShareAccessId(w, host.hostname, old_grant.share_id, new_id);
    return absl::OkStatus();
  }));
  // The new rule is active: only now is the old one revoked.
  if (!old_id.empty()) {
    absl::Status s = Retry(deps.clock, deps.options.manila_retry, [&] {
      absl::Status d = deps.manila.DenyAccess(old_grant.share_id, old_id, auth);
      return d.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : d;
    });
    SP_RETURN_IF_ERROR(s);
  }
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    ForgetAccessGrant(w, old_grant.share_id, "ip", old_grant.access_to);
    return absl::OkStatus();
  }));
  progress << "share " << old_grant.share_id << ": granted " << to << " (rule "
           << new_id << "), revoked " << from.to << " (rule "
           << (old_id.empty() ? "already gone" : old_id) << ")\n";
  SP_LOG(Info) << "Share " << old_grant.share_id << " of host " << host.hostname
               << " moved from " << from.to << " to " << to;
  return absl::OkStatus();
}

}  // namespace

absl::Status MoveHostAddress(WorkflowDeps& deps, const std::string& hostname,
                             const std::string& new_ip,
                             std::ostream& progress) {
  if (!IsAddress(new_ip)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", new_ip, "' is not an IP address"));
  }
  std::optional<ComputeHost> host;
  std::string old_ip;
  std::vector<AccessGrant> grants;
  // The address changes first, under the host row's exclusive lock: an
  // attach that loaded the old address sees the change under its share
  // lock of the row and runs again, granting the new one.
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) -> absl::Status {
    auto known = LockComputeHostAddress(w, hostname, /*exclusive=*/true);
    if (!known) {
      return absl::NotFoundError(
          absl::StrCat("Compute host ", hostname, " could not be found."));
    }
    old_ip = *known;
    SetComputeHostStorageIp(w, hostname, new_ip);
    host = GetComputeHost(w, hostname);
    return absl::OkStatus();
  }));
  // Grants to any address of this host's past but the new one: what an
  // earlier, interrupted move left is finished too.
  SP_RETURN_IF_ERROR(deps.db.Read([&](pqxx::transaction_base& w) {
    grants = ListHostIpGrants(w, hostname, old_ip);
    return absl::OkStatus();
  }));
  if (old_ip != new_ip) {
    SP_LOG(Warning) << "Compute host " << hostname
                    << " changes its storage address from " << old_ip << " to "
                    << new_ip << " (" << grants.size() << " rules to move)";
  }
  int moved = 0;
  for (const AccessGrant& g : grants) {
    if (Bare(g.access_to) == new_ip) continue;
    SP_RETURN_IF_ERROR(MoveShare(deps, *host, g, new_ip, progress));
    ++moved;
  }
  progress << "Host " << hostname << " storage address " << new_ip << ": "
           << moved << " access rules moved from " << old_ip << "\n";
  return absl::OkStatus();
}

}  // namespace shareplane
