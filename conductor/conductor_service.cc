#include "conductor/conductor_service.h"

#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "common/amqp/amqp_settings.h"
#include "common/amqp/outbox_relay.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/settings.h"
#include "common/http/ops.h"
#include "common/openstack/keystone.h"
#include "common/openstack/openstack_settings.h"
#include "common/pg/pg_settings.h"
#include "conductor/agent_client.h"
#include "conductor/agent_registry.h"
#include "conductor/host_audit.h"
#include "conductor/reconciler.h"
#include "conductor/workflow.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

namespace {

// A task as it is kept after its run: without the caller's token (an
// undecodable body is kept as it came; it carries no token we can find).
std::string WithoutToken(const std::string& body) {
  task::v1::Task task;
  if (!task.ParseFromString(body) || task.auth_token().empty()) return body;
  task.clear_auth_token();
  return task.SerializeAsString();
}

}  // namespace

using Workflow = absl::Status (*)(WorkflowDeps&, const task::v1::Task&);

// The workflow of each task kind; nullptr for kinds this conductor does
// not know.
Workflow WorkflowFor(task::v1::TaskKind kind) {
  switch (kind) {
    case task::v1::TASK_KIND_ATTACH_SHARE:
      return RunAttach;
    case task::v1::TASK_KIND_DETACH_SHARE:
      return RunDetach;
    case task::v1::TASK_KIND_CREATE_SERVER:
      return RunCreateServer;
    case task::v1::TASK_KIND_DELETE_SERVER:
      return RunDeleteServer;
    case task::v1::TASK_KIND_START_SERVER:
      return RunStartServer;
    case task::v1::TASK_KIND_STOP_SERVER:
      return RunStopServer;
    case task::v1::TASK_KIND_REBOOT_SERVER:
      return RunRebootServer;
    case task::v1::TASK_KIND_REBUILD_SERVER:
      return RunRebuildServer;
    case task::v1::TASK_KIND_SHELVE_SERVER:
      return RunShelveServer;
    case task::v1::TASK_KIND_SHELVE_OFFLOAD_SERVER:
      return RunShelveOffloadServer;
    case task::v1::TASK_KIND_UNSHELVE_SERVER:
      return RunUnshelveServer;
    case task::v1::TASK_KIND_MIGRATE_SERVER:
      return RunMigrateServer;
    case task::v1::TASK_KIND_CONFIRM_RESIZE:
      return RunConfirmResize;
    case task::v1::TASK_KIND_REVERT_RESIZE:
      return RunRevertResize;
    case task::v1::TASK_KIND_EVACUATE_SERVER:
      return RunEvacuateServer;
    default:
      return nullptr;
  }
}

class TaskDispatcher {
 public:
  explicit TaskDispatcher(WorkflowDeps deps) : deps_(std::move(deps)) {}

  Disposition Handle(const AmqpMessage& msg) {
    task::v1::Task task;
    if (!task.ParseFromString(msg.body) ||
        (task.mapping_uuid().empty() && task.server_uuid().empty())) {
      SP_LOG(Error) << "Dropping undecodable task message " << msg.message_id;
      return Disposition::kReject;
    }
    const Workflow run = WorkflowFor(task.kind());
    if (run == nullptr) {
      SP_LOG(Error) << "Dropping task of unknown kind " << task.kind();
      return Disposition::kReject;
    }
    ScopedRequestId log_id(task.global_request_id().empty()
                               ? task.request_id()
                               : task.global_request_id());
    const auto started = std::chrono::steady_clock::now();
    absl::Status s;
    // Serializes the tasks of one server across every conductor process
    // (common/pg/db.h SessionLock: released by PostgreSQL if this one dies).
    // A worker never waits for another task's lock: the task comes back
    // after the retry delay instead, and this worker takes the next one.
    std::optional<SessionLock> lock;
    if (!task.server_uuid().empty()) {
      lock.emplace(deps_.db, kServerLockSpace, task.server_uuid(),
                   /*wait=*/false);
      s = lock->status();
      if (s.ok() && !lock->held()) {
        SP_LOG(Info) << "Server " << task.server_uuid()
                     << " is busy with another task; task " << task.task_id()
                     << " comes back later";
        return Disposition::kDefer;
      }
    }
    if (s.ok()) s = run(deps_, task);
    const MetricLabels kind = {
        {"kind", absl::AsciiStrToLower(std::string(absl::StripPrefix(
                     task::v1::TaskKind_Name(task.kind()), "TASK_KIND_")))}};
    MetricLabels result = kind;
    result.emplace_back("result", s.ok() ? "done" : "requeued");
    Metrics::Global().Increment("shareplane_workflow_runs_total", result);
    Metrics::Global().Observe("shareplane_workflow_duration_seconds", result,
                              std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - started)
                                  .count());
    if (s.ok()) return Disposition::kAck;
    // Nothing could be recorded (the database is down): try again after
    // the retry delay, a bounded number of times.
    SP_LOG(Warning) << "Task " << task.task_id()
                    << " will be retried: " << s.message();
    return Disposition::kRequeue;
  }

 private:
  WorkflowDeps deps_;
};

struct ConductorService::Parts {
  const Config config;
  Database db;
  std::unique_ptr<KeystoneSession> keystone;
  ManilaClient manila;
  AgentClient agents;
  WorkflowDeps deps;
  TaskDispatcher dispatcher;
  AgentRegistryServer registry;
  // The conductor relays outbox rows too (its reconciler writes some), so
  // tasks flow even while no API runs; SKIP LOCKED keeps relays apart.
  AmqpPublisher publisher;
  OutboxRelay relay;
  Reconciler reconciler;
  AgentClient probe;  // the host audit's reads: short, never retried
  HostAudit audit;
  StopSignal stop;
  std::vector<std::thread> consumers;
  std::vector<HealthCheck> health;
  HttpServer ops;
  int port = 0;
  int ops_port = 0;

  static int StaleAfter(const Config& c) {
    return c.GetInt("conductor", "reconcile_stale_after",
                    2 * c.GetInt("manila", "access_rule_timeout", 60) +
                        c.GetInt("conductor", "agent_timeout", 90));
  }

  explicit Parts(const Config& c)
      : config(c),
        db(DatabaseOptionsFrom(c)),
        keystone(ManilaKeystoneFrom(c)),
        manila(ManilaOptionsFrom(c, keystone.get())),
        agents(std::chrono::seconds(c.GetInt("conductor", "agent_timeout", 90)),
               GrpcTlsFrom(c),
               std::chrono::seconds(
                   c.GetInt("conductor", "agent_retry_timeout", 30))),
        deps{db, manila, *RealClock::Get(),
             WorkflowOptionsFrom(c, keystone != nullptr), agents},
        dispatcher(deps),
        registry(db, c.GetInt("conductor", "heartbeat_interval", 10),
                 GrpcTlsFrom(c), c.GetInt("conductor", "agent_timeout", 90)),
        publisher(AmqpOptionsFrom(c)),
        relay(db, publisher),
        reconciler(db, TaskQueueFrom(c),
                   std::chrono::seconds(
                       c.GetInt("conductor", "reconcile_interval", 60)),
                   std::chrono::seconds(StaleAfter(c)), deps,
                   std::chrono::seconds(c.GetInt("conductor", "orphan_rule_age",
                                                 StaleAfter(c)))),
        probe(std::chrono::seconds(
                  c.GetInt("conductor", "host_audit_timeout", 10)),
              GrpcTlsFrom(c), std::chrono::milliseconds(1)),
        audit(deps, probe, c.GetInt("DEFAULT", "service_down_time", 60)),
        health{DatabaseHealthCheck(db),
               {"rabbitmq",
                [amqp = AmqpOptionsFrom(c)] { return ProbeAmqp(amqp); }}},
        ops(
            [this](const HttpRequest& r) {
              if (auto out = ServeOps(r, health)) return *out;
              return HttpResponse{404, {}, "Not Found\n"};
            },
            2) {}
};

ConductorService::ConductorService(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}
ConductorService::~ConductorService() { Stop(); }

absl::StatusOr<std::unique_ptr<ConductorService>> ConductorService::Create(
    const Config& config) {
  auto parts = std::make_unique<Parts>(config);
  if (config.GetBool("database", "sync_on_start", false)) {
    auto version = MigrateSchema(parts->db);
    if (!version.ok()) return version.status();
  }
  return std::unique_ptr<ConductorService>(
      new ConductorService(std::move(parts)));
}

absl::Status ConductorService::Start() {
  const Config& c = parts_->config;
  if (absl::Status s = CheckAgentPlaneTls(GrpcTlsFrom(c), "the conductor");
      !s.ok()) {
    return s;
  }
  auto port =
      parts_->registry.Start(c.GetString("conductor", "listen", "0.0.0.0"),
                             c.GetInt("conductor", "listen_port", 8780));
  if (!port.ok()) return port.status();
  parts_->port = *port;
  SP_LOG(Info) << "Agent registry listening on port " << *port;
  const int workers = std::max(1, c.GetInt("conductor", "workers", 8));
  for (int i = 0; i < workers; ++i) {
    parts_->consumers.emplace_back([this] {
      const Config& c = parts_->config;
      AmqpOptions amqp = AmqpOptionsFrom(parts_->config);
      // At least 1: the retry queues are what delays a deferred task (a
      // plain requeue would bring it straight back while its server is busy).
      amqp.max_deliveries =
          std::max(1, c.GetInt("conductor", "max_task_failures", 10));
      amqp.requeue_delay = std::chrono::milliseconds(
          c.GetInt("conductor", "task_retry_delay_ms", 1000));
      amqp.dead_letter_body = WithoutToken;
      AmqpConsumer consumer(amqp, TaskQueueFrom(parts_->config));
      consumer.Run(
          [this](const AmqpMessage& m) { return parts_->dispatcher.Handle(m); },
          parts_->stop);
    });
  }
  parts_->relay.Start();
  parts_->reconciler.Start();
  if (const int every = c.GetInt("conductor", "host_audit_interval", 60);
      every > 0) {
    parts_->audit.Start(std::chrono::seconds(every));
  }
  auto ops_port =
      parts_->ops.Listen(c.GetString("conductor", "ops_listen", "0.0.0.0"),
                         c.GetInt("conductor", "ops_listen_port", 8782));
  if (!ops_port.ok()) return ops_port.status();
  parts_->ops_port = *ops_port;
  parts_->ops.Start();
  RegisterOutboxDepthMetric(parts_->db);
  SP_LOG(Info) << "Health and metrics on port " << *ops_port;
  return absl::OkStatus();
}

void ConductorService::Stop() {
  parts_->audit.Stop();
  parts_->reconciler.Stop();
  parts_->relay.Stop();
  parts_->stop.Stop();
  for (auto& t : parts_->consumers) t.join();
  parts_->consumers.clear();
  parts_->registry.Stop();
  parts_->ops.Stop();
}

int ConductorService::registry_port() const { return parts_->port; }

}  // namespace shareplane
