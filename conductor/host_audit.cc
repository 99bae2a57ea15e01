#include "conductor/host_audit.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/status.h"
#include "conductor/agent_client.h"

namespace shareplane {
namespace {

constexpr int kShutdown = 4;

void Count(const std::string& result, const std::string& kind) {
  Metrics::Global().Increment("shareplane_host_audit_total",
                              {{"result", result}, {"kind", kind}});
}

struct Recorded {
  Server server;
  std::set<std::string> active_exports;  // of mappings in status active
};

// What a server on a host needs, from the database's record (nullopt:
// none) and the agent's report of it.
enum class Fix {
  kNone,
  kRemoveUnknown,       // no such server here: remove domain and mounts
  kRecordStopped,       // ACTIVE, its domain does not run
  kStopDomain,          // SHUTOFF, its domain runs
  kReleaseErrorShares,  // ERROR, its domain does not run
  kReleaseMounts,       // mounts in use without a running domain
};

Fix ChooseFix(const std::optional<Server>& server, const ComputeHost& host,
              const agent::v1::PowerReply& now) {
  const bool running = now.domain_state() == "running";
  const bool has_domain = now.domain_state() != "absent";
  // A move in flight (or awaiting its confirm) holds this host too: its
  // workflow, or its confirm or revert, cleans it up.
  if (server && server->migration_host == host.hostname) return Fix::kNone;
  if (!server || server->host != host.hostname) {
    if (!has_domain && now.mount_points().empty()) return Fix::kNone;
    return Fix::kRemoveUnknown;
  }
  if (!server->task_state.empty()) return Fix::kNone;
  if (server->vm_state == "active" && !running) return Fix::kRecordStopped;
  if (server->vm_state == "stopped" && running) return Fix::kStopDomain;
  if (server->vm_state == "error" && !running) return Fix::kReleaseErrorShares;
  if (!running && !now.mount_points().empty()) return Fix::kReleaseMounts;
  return Fix::kNone;
}

// The server and what is known of it, for one repair.
struct Found {
  const ComputeHost& host;
  const std::string& uuid;
  const std::optional<Server>& server;
  const std::vector<ShareMapping>& mappings;
  const agent::v1::PowerReply& now;
};

absl::StatusOr<bool> RemoveUnknown(WorkflowDeps& deps, const Found& f) {
  SP_RETURN_IF_ERROR(deps.agents.DeleteServer(f.host, f.uuid).status());
  // A server evacuated from this host while it was down: Nova's compute
  // marks such migrations completed when it destroys the guest at start.
  int evacuated = 0;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    evacuated = CompleteEvacuations(w, f.uuid, f.host.hostname);
    return absl::OkStatus();
  }));
  SP_LOG(Warning) << "Host audit: removed the domain and mounts of server "
                  << f.uuid << " from " << f.host.hostname
                  << (evacuated > 0
                          ? ", from where it was evacuated"
                          : ", where the database has no such server");
  Count("repaired", "unknown_server");
  return true;
}

absl::StatusOr<bool> RecordStopped(WorkflowDeps& deps, const Found& f) {
  const Server& server = *f.server;
  const std::string reason =
      absl::StrCat("The server's domain was found ", f.now.domain_state(),
                   " on host ", f.host.hostname, "; recorded as stopped");
  bool changed = false;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    changed =
        UpdateServerState(w, f.uuid, server.version, "stopped", "", kShutdown);
    if (!changed) return absl::OkStatus();
    for (const ShareMapping& m : f.mappings) {
      if (m.status != "active") continue;
      UpdateShareMappingStatus(w, m.uuid, m.version, "inactive", m.access_id,
                               "");
    }
    const std::string request_id = NewRequestId();
    InsertInstanceAction(w, request_id, f.uuid, "stop", server.project_id,
                         server.user_id);
    RecordActionEvent(w, f.uuid, request_id, "compute_stop_instance", "Success",
                      reason);
    return absl::OkStatus();
  }));
  if (!changed) return false;
  SP_LOG(Warning) << "Host audit: server " << f.uuid << ": " << reason;
  Count("repaired", "active_server_not_running");
  if (!f.now.mount_points().empty()) {
    SP_RETURN_IF_ERROR(deps.agents.ReleaseMounts(f.host, f.uuid).status());
  }
  return true;
}

// A call the conductor gave up on ran after all (an agent that stalled):
// the server is what the database says, as Nova's power sync makes it
// (force_stop).
absl::StatusOr<bool> StopDomain(WorkflowDeps& deps, const Found& f) {
  SP_RETURN_IF_ERROR(deps.agents.PowerOff(f.host, f.uuid).status());
  SP_LOG(Warning) << "Host audit: stopped the domain of server " << f.uuid
                  << " on " << f.host.hostname << ", which is recorded SHUTOFF";
  Count("repaired", "shutoff_server_running");
  return true;
}

// A failed delete or reboot leaves an ERROR server whose shares were
// active; once its domain is found not running they are not.
absl::StatusOr<bool> ReleaseErrorShares(WorkflowDeps& deps, const Found& f) {
  int changed = 0;
  SP_RETURN_IF_ERROR(deps.db.Transact([&](pqxx::work& w) {
    for (const ShareMapping& m : f.mappings) {
      if (m.status != "active") continue;
      if (UpdateShareMappingStatus(w, m.uuid, m.version, "inactive",
                                   m.access_id, "")) {
        ++changed;
      }
    }
    return absl::OkStatus();
  }));
  if (!f.now.mount_points().empty()) {
    SP_RETURN_IF_ERROR(deps.agents.ReleaseMounts(f.host, f.uuid).status());
  }
  if (changed == 0 && f.now.mount_points().empty()) return false;
  SP_LOG(Warning) << "Host audit: server " << f.uuid << " in ERROR on "
                  << f.host.hostname << " has its domain "
                  << f.now.domain_state() << "; " << changed
                  << " active shares recorded inactive";
  Count("repaired", "error_server_not_running");
  return true;
}

absl::StatusOr<bool> ReleaseMounts(WorkflowDeps& deps, const Found& f) {
  SP_RETURN_IF_ERROR(deps.agents.ReleaseMounts(f.host, f.uuid).status());
  SP_LOG(Warning) << "Host audit: released the mounts of server " << f.uuid
                  << " on " << f.host.hostname << ", whose domain is "
                  << f.now.domain_state();
  Count("repaired", "mount_without_domain");
  return true;
}

}  // namespace

HostAudit::HostAudit(WorkflowDeps deps, AgentClient& probe,
                     int down_after_seconds)
    : deps_(std::move(deps)),
      probe_(probe),
      down_after_seconds_(down_after_seconds) {}

HostAudit::~HostAudit() { Stop(); }

void HostAudit::Start(Duration interval) {
  thread_ = std::thread([this, interval] {
    while (!stop_.WaitFor(interval)) {
      auto r = RunOnce();
      if (!r.ok()) {
        SP_LOG(Warning) << "Host audit: " << r.status().message();
      } else if (r->repaired > 0 || r->reported > 0) {
        SP_LOG(Warning) << "Host audit of " << r->hosts << " hosts: repaired "
                        << r->repaired << ", reported " << r->reported;
      }
    }
  });
}

void HostAudit::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<HostAuditResult> HostAudit::RunOnce() {
  std::vector<ComputeHost> hosts;
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) {
    hosts = ListComputeHosts(w);
    return absl::OkStatus();
  }));
  HostAuditResult result;
  for (const ComputeHost& host : hosts) {
    if (!IsHostUp(host, down_after_seconds_) || host.agent_endpoint.empty()) {
      continue;
    }
    absl::Status s = AuditHost(host, result);
    if (!s.ok()) {
      SP_LOG(Info) << "Host audit skipped " << host.hostname << ": "
                   << s.message();
    }
  }
  return result;
}

absl::Status HostAudit::AuditHost(const ComputeHost& host,
                                  HostAuditResult& result) {
  // The host first, then the database: a server created meanwhile is in the
  // database and not yet on the host, which is never acted on below.
  SP_ASSIGN_OR_RETURN(auto state, probe_.GetHostState(host));
  std::map<std::string, Recorded> recorded;
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) {
    for (Server& s : ListServersOnHost(w, host.hostname)) {
      Recorded r;
      for (const ShareMapping& m : ListShareMappings(w, s.uuid)) {
        if (m.status == "active") r.active_exports.insert(m.export_location);
      }
      r.server = std::move(s);
      recorded.emplace(r.server.uuid, std::move(r));
    }
    return absl::OkStatus();
  }));
  ++result.hosts;
  std::map<std::string, std::string> domains;  // server -> domain state
  for (const auto& d : state.domains()) {
    domains[d.server_uuid()] = d.domain_state();
  }
  std::map<std::string, int> mounts;  // server -> mount points it uses
  for (const auto& m : state.mounts()) {
    for (const auto& u : m.server_uuids()) ++mounts[u];
  }
  std::set<std::string> suspects;
  for (const auto& [uuid, r] : recorded) {
    if (!r.server.task_state.empty()) continue;  // a workflow owns it
    const bool running = domains.count(uuid) && domains[uuid] == "running";
    if (r.server.vm_state == "active" && !running) {
      suspects.insert(uuid);
    } else if (r.server.vm_state == "stopped" && running) {
      suspects.insert(uuid);
    } else if (r.server.vm_state == "error" && !running &&
               !r.active_exports.empty()) {
      suspects.insert(uuid);
    } else if (r.server.vm_state == "active" &&
               mounts[uuid] < static_cast<int>(r.active_exports.size())) {
      SP_LOG(Warning) << "Host audit: server " << uuid << " on "
                      << host.hostname << " has " << mounts[uuid]
                      << " mounts for " << r.active_exports.size()
                      << " active shares";
      Count("reported", "mount_missing");
      ++result.reported;
    }
  }
  for (const auto& [uuid, st] : domains) {
    if (!recorded.count(uuid)) suspects.insert(uuid);
  }
  for (const auto& [uuid, n] : mounts) {
    const bool running = domains.count(uuid) && domains[uuid] == "running";
    if (!recorded.count(uuid) || !running) suspects.insert(uuid);
  }
  for (const std::string& uuid : suspects) {
    auto repaired = Repair(host, uuid);
    if (!repaired.ok()) {
      SP_LOG(Warning) << "Host audit: server " << uuid << " on "
                      << host.hostname << ": " << repaired.status().message();
    } else if (*repaired) {
      ++result.repaired;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> HostAudit::Repair(const ComputeHost& host,
                                       const std::string& uuid) {
  SessionLock lock(deps_.db, kServerLockSpace, uuid, /*wait=*/false);
  SP_RETURN_IF_ERROR(lock.status());
  if (!lock.held()) return false;  // a workflow has it: next pass
  std::optional<Server> server;
  std::vector<ShareMapping> mappings;
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) {
    server = GetServer(w, uuid);
    if (server) mappings = ListShareMappings(w, uuid);
    return absl::OkStatus();
  }));
  SP_ASSIGN_OR_RETURN(auto now, probe_.GetServerState(host, uuid));
  const Found found{host, uuid, server, mappings, now};
  switch (ChooseFix(server, host, now)) {
    case Fix::kNone:
      return false;
    case Fix::kRemoveUnknown:
      return RemoveUnknown(deps_, found);
    case Fix::kRecordStopped:
      return RecordStopped(deps_, found);
    case Fix::kStopDomain:
      return StopDomain(deps_, found);
    case Fix::kReleaseErrorShares:
      return ReleaseErrorShares(deps_, found);
    case Fix::kReleaseMounts:
      return ReleaseMounts(deps_, found);
  }
  return false;
}

}  // namespace shareplane
