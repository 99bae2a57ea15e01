#include "conductor/reconciler.h"

#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/pg/store.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

namespace taskpb = shareplane::task::v1;

std::optional<taskpb::TaskKind> KindForTaskState(const std::string& state) {
  if (state == "spawning") return taskpb::TASK_KIND_CREATE_SERVER;
  if (state == "powering-on") return taskpb::TASK_KIND_START_SERVER;
  if (state == "powering-off") return taskpb::TASK_KIND_STOP_SERVER;
  if (state == "rebooting" || state == "rebooting_hard") {
    return taskpb::TASK_KIND_REBOOT_SERVER;
  }
  if (state == "deleting") return taskpb::TASK_KIND_DELETE_SERVER;
  if (state == "rebuilding") return taskpb::TASK_KIND_REBUILD_SERVER;
  if (state == "shelving") return taskpb::TASK_KIND_SHELVE_SERVER;
  if (state == "shelving_offloading") {
    return taskpb::TASK_KIND_SHELVE_OFFLOAD_SERVER;
  }
  if (state == "unshelving") return taskpb::TASK_KIND_UNSHELVE_SERVER;
  if (state == "resize_prep" || state == "resize_migrating" ||
      state == "resize_finish") {
    return taskpb::TASK_KIND_MIGRATE_SERVER;
  }
  if (state == "resize_reverting") return taskpb::TASK_KIND_REVERT_RESIZE;
  return std::nullopt;
}

void Enqueue(pqxx::transaction_base& w, const std::string& queue,
             taskpb::Task& task) {
  task.set_task_id(NewUuid());
  if (task.request_id().empty()) task.set_request_id(NewRequestId());
  std::string bytes;
  task.SerializeToString(&bytes);
  InsertOutbox(w, queue, bytes, task.request_id());
}

}  // namespace

Reconciler::Reconciler(Database& db, std::string task_queue, Duration interval,
                       Duration stale_after, WorkflowDeps deps,
                       Duration orphan_age)
    : db_(db),
      task_queue_(std::move(task_queue)),
      interval_(interval),
      stale_after_(stale_after),
      deps_(std::move(deps)),
      orphan_age_(orphan_age) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Start() {
  thread_ = std::thread([this] {
    while (!stop_.WaitFor(interval_)) {
      auto queued = RunOnce();
      if (!queued.ok()) {
        SP_LOG(Warning) << "Reconciler: " << queued.status().message();
      } else if (*queued > 0) {
        SP_LOG(Warning) << "Reconciler queued " << *queued
                        << " stalled workflow(s) again";
      }
      auto orphans = AuditRules();
      if (!orphans.ok()) {
        SP_LOG(Warning) << "Reconciler: rule audit: "
                        << orphans.status().message();
      }
    }
  });
}

void Reconciler::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<std::vector<OrphanRule>> Reconciler::AuditRules() {
  auto orphans = FindOrphanRules(
      deps_, static_cast<int>(
                 std::chrono::duration_cast<std::chrono::seconds>(orphan_age_)
                     .count()));
  if (!orphans.ok()) return orphans;
  for (const OrphanRule& o : *orphans) {
    SP_LOG(Warning) << "Reconciler: Manila access rule " << o.rule_id << " ("
                    << o.access_type << ":" << o.access_to << ") on share "
                    << o.share_id
                    << " carries Shareplane's lock but no attachment uses it";
  }
  return orphans;
}

absl::StatusOr<int> Reconciler::RunOnce() {
  const int stale = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(stale_after_).count());
  int queued = 0;
  absl::Status s = db_.Transact([&](pqxx::work& w) {
    for (const ShareMapping& m : ListStaleShareMappings(w, stale)) {
      auto server = GetServer(w, m.server_uuid);
      taskpb::Task task;
      task.set_kind(m.status == "attaching" ? taskpb::TASK_KIND_ATTACH_SHARE
                                            : taskpb::TASK_KIND_DETACH_SHARE);
      task.set_server_uuid(m.server_uuid);
      task.set_mapping_uuid(m.uuid);
      task.set_share_id(m.share_id);
      task.set_request_id(LatestRequestId(w, m.server_uuid));
      if (server) {
        task.set_project_id(server->project_id);
        task.set_user_id(server->user_id);
      }
      Enqueue(w, task_queue_, task);
      TouchShareMapping(w, m.uuid);
      SP_LOG(Info) << "Reconciler: mapping " << m.uuid << " stalled in "
                   << m.status << "; queued again";
      ++queued;
    }
    for (const Server& server : ListStaleServers(w, stale)) {
      auto kind = KindForTaskState(server.task_state);
      // An evacuation rebuilds on another host: the server holds it.
      if (server.task_state == "rebuilding" && !server.migration_host.empty()) {
        kind = taskpb::TASK_KIND_EVACUATE_SERVER;
      }
      if (!kind) continue;
      taskpb::Task task;
      task.set_kind(*kind);
      task.set_server_uuid(server.uuid);
      task.set_hard(server.task_state == "rebooting_hard");
      task.set_request_id(LatestRequestId(w, server.uuid));
      task.set_project_id(server.project_id);
      task.set_user_id(server.user_id);
      Enqueue(w, task_queue_, task);
      TouchServer(w, server.uuid);
      SP_LOG(Info) << "Reconciler: server " << server.uuid << " stalled in "
                   << server.task_state << "; queued again";
      ++queued;
    }
    for (const std::string& uuid : TouchStaleConfirms(w, stale)) {
      auto server = GetServer(w, uuid);
      if (!server) continue;
      taskpb::Task task;
      task.set_kind(taskpb::TASK_KIND_CONFIRM_RESIZE);
      task.set_server_uuid(uuid);
      task.set_request_id(LatestRequestId(w, uuid));
      task.set_project_id(server->project_id);
      task.set_user_id(server->user_id);
      Enqueue(w, task_queue_, task);
      SP_LOG(Info) << "Reconciler: the confirm of server " << uuid
                   << "'s resize stalled; queued again";
      ++queued;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return queued;
}

}  // namespace shareplane
