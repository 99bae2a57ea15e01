#include "compute-agent/compute_agent.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/mutex.h"
#include "common/core/status.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http.h"
#include "common/http/ops.h"
#include "compute-agent/call_scope.h"
#include "compute-agent/host_facts.h"
#include "compute-agent/mount_manager.h"
#include "compute-agent/server_driver.h"
#include "compute-agent/twin_hypervisor.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"

namespace shareplane {
namespace {

namespace agentpb = shareplane::agent::v1;

absl::StatusOr<agentpb::HostFacts> CollectFacts(Hypervisor& hv,
                                                const HostSettings& settings) {
  auto info = hv.Info();
  if (!info.ok()) return info.status();
  agentpb::HostFacts f;
  f.set_hostname(settings.hostname);
  f.set_storage_ip(settings.storage_ip);
  f.set_agent_endpoint(settings.agent_endpoint);
  const bool virtiofsd = access(settings.virtiofsd_path.c_str(), X_OK) == 0;
  for (const auto& t : ComputeTraits(*info, settings, virtiofsd)) {
    f.add_traits(t);
  }
  f.set_libvirt_version(VersionString(info->libvirt_version));
  f.set_hypervisor_type(info->type);
  f.set_hypervisor_version(VersionString(info->hypervisor_version));
  f.set_memory_mb(info->memory_mb);
  f.set_vcpus(info->vcpus);
  f.set_stop_budget_seconds(settings.stop_budget_seconds);
  return f;
}

// Settings are complete only once the server knows its bound port.
class SettingsBox {
 public:
  void Set(HostSettings s) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    settings_ = std::move(s);
  }
  HostSettings Get() ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    return settings_;
  }

 private:
  Mutex mu_;
  HostSettings settings_ ABSL_GUARDED_BY(mu_);
};

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* reply) {
  if (!result.ok()) return ToGrpc(result.status());
  *reply = std::move(*result);
  return grpc::Status::OK;
}

// The call's cancellation and deadline for the code below the handler.
class GrpcCallScope : public CallScope {
 public:
  explicit GrpcCallScope(grpc::ServerContext* ctx)
      : CallScope([ctx] { return ctx->IsCancelled(); }, SteadyDeadline(ctx)) {}

 private:
  static std::chrono::steady_clock::time_point SteadyDeadline(
      grpc::ServerContext* ctx) {
    const auto deadline = ctx->deadline();
    if (deadline == std::chrono::system_clock::time_point::max()) {
      return std::chrono::steady_clock::time_point::max();
    }
    const auto left = deadline - std::chrono::system_clock::now();
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               left);
  }
};

class AgentService final : public agentpb::ComputeAgent::Service {
 public:
  AgentService(Hypervisor& hv, SettingsBox& settings, ServerDriver& driver)
      : hv_(hv), settings_(settings), driver_(driver) {}

  grpc::Status PowerOn(grpc::ServerContext* ctx,
                       const agentpb::PowerOnRequest* req,
                       agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.PowerOn(req->spec()), reply);
  }
  grpc::Status PowerOff(grpc::ServerContext* ctx,
                        const agentpb::PowerOffRequest* req,
                        agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.PowerOff(req->server_uuid()), reply);
  }
  grpc::Status Reboot(grpc::ServerContext* ctx,
                      const agentpb::RebootRequest* req,
                      agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Reboot(req->spec(), req->hard()), reply);
  }
  grpc::Status Rebuild(grpc::ServerContext* ctx,
                       const agentpb::RebuildRequest* req,
                       agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Rebuild(req->spec()), reply);
  }
  grpc::Status DeleteServer(grpc::ServerContext* ctx,
                            const agentpb::DeleteServerRequest* req,
                            agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Delete(req->server_uuid()), reply);
  }
  grpc::Status EnsureMount(grpc::ServerContext* ctx,
                           const agentpb::EnsureMountRequest* req,
                           agentpb::EnsureMountReply* reply) override {
    GrpcCallScope scope(ctx);
    auto point = driver_.EnsureMount(req->server_uuid(), req->filesystem());
    if (!point.ok()) return ToGrpc(point.status());
    reply->set_mount_point(*point);
    return grpc::Status::OK;
  }
  grpc::Status ReleaseMounts(grpc::ServerContext* ctx,
                             const agentpb::ServerRequest* req,
                             agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.ReleaseMounts(req->server_uuid()), reply);
  }
  grpc::Status DefineServer(grpc::ServerContext* ctx,
                            const agentpb::DefineServerRequest* req,
                            agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Define(req->spec()), reply);
  }
  grpc::Status StartServer(grpc::ServerContext* ctx,
                           const agentpb::ServerRequest* req,
                           agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Start(req->server_uuid()), reply);
  }
  grpc::Status StopServer(grpc::ServerContext* ctx,
                          const agentpb::ServerRequest* req,
                          agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Stop(req->server_uuid()), reply);
  }
  grpc::Status UndefineServer(grpc::ServerContext* ctx,
                              const agentpb::ServerRequest* req,
                              agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.Undefine(req->server_uuid()), reply);
  }
  grpc::Status GetServerState(grpc::ServerContext* ctx,
                              const agentpb::ServerRequest* req,
                              agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.State(req->server_uuid()), reply);
  }

  grpc::Status AttachFilesystem(grpc::ServerContext* ctx,
                                const agentpb::FilesystemRequest* req,
                                agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(
        driver_.AttachFilesystem(req->server_uuid(), req->filesystem()), reply);
  }
  grpc::Status DetachFilesystem(grpc::ServerContext* ctx,
                                const agentpb::FilesystemRequest* req,
                                agentpb::PowerReply* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(
        driver_.DetachFilesystem(req->server_uuid(), req->filesystem()), reply);
  }

  grpc::Status GetHostState(grpc::ServerContext* ctx,
                            const agentpb::GetHostStateRequest*,
                            agentpb::HostState* reply) override {
    GrpcCallScope scope(ctx);
    return Answer(driver_.HostState(), reply);
  }

  grpc::Status GetHostFacts(grpc::ServerContext* ctx,
                            const agentpb::GetHostFactsRequest*,
                            agentpb::HostFacts* reply) override {
    GrpcCallScope scope(ctx);
    HostSettings settings = settings_.Get();
    if (settings.hostname.empty()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "agent is starting");
    }
    auto facts = CollectFacts(hv_, settings);
    if (!facts.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          std::string(facts.status().message()));
    }
    *reply = std::move(*facts);
    return grpc::Status::OK;
  }

 private:
  Hypervisor& hv_;
  SettingsBox& settings_;
  ServerDriver& driver_;
};

DomainOptions DomainOptionsFrom(const Config& c) {
  DomainOptions o;
  const std::string uri = c.GetString("libvirt", "connection_uri", "");
  o.virt_type = c.GetString("libvirt", "virt_type",
                            uri.rfind("test:", 0) == 0 ? "test" : "kvm");
  o.shared_memory = c.GetString("libvirt", "shared_memory", "memfd");
  o.emulator = c.GetString("libvirt", "emulator", "");
  o.image_dir = c.GetString("compute", "image_dir", "");
  o.console_dir = c.GetString("compute", "console_log_dir", "");
  o.pcie_ports = std::clamp(
      static_cast<int>(c.GetInt("libvirt", "num_pcie_ports", o.pcie_ports)), 0,
      28);
  o.hot_unplug_timeout = std::chrono::seconds(
      std::max<int64_t>(1, c.GetInt("compute", "hot_unplug_timeout", 30)));
  return o;
}

MountOptions MountOptionsFrom(const Config& c) {
  MountOptions o;
  o.base = c.GetString("compute", "mount_base", o.base);
  o.nfs_mount_options = c.GetString("libvirt", "nfs_mount_options", "");
  o.ceph_mount_options = c.GetString("libvirt", "ceph_mount_options", "");
  o.ceph_mount_type = c.GetString("libvirt", "ceph_mount_type", "kernel");
  o.ceph_conf = c.GetString("libvirt", "ceph_conf", "");
  return o;
}

// [compute] hypervisor_driver: libvirt (the default) or twin (tests).
absl::StatusOr<std::unique_ptr<Hypervisor>> HypervisorFrom(const Config& c) {
  const std::string driver =
      c.GetString("compute", "hypervisor_driver", "libvirt");
  if (driver == "twin") {
    const std::string dir = c.GetString("compute", "hypervisor_twin_dir", "");
    if (dir.empty()) {
      return absl::InvalidArgumentError(
          "[compute] hypervisor_driver = twin needs hypervisor_twin_dir");
    }
    SP_LOG(Warning) << "[compute] hypervisor_driver = twin: no guest runs "
                       "(a stateful libvirt twin for tests), steered from "
                    << dir;
    return std::make_unique<TwinHypervisor>(dir);
  }
  if (driver != "libvirt") {
    return absl::InvalidArgumentError(
        absl::StrCat("[compute] hypervisor_driver must be libvirt or twin, "
                     "not '",
                     driver, "'"));
  }
  return std::make_unique<LibvirtHypervisor>(
      c.GetString("libvirt", "connection_uri", "qemu:///system"),
      std::chrono::seconds(c.GetInt("compute", "shutdown_timeout", 60)));
}

}  // namespace

struct ComputeAgent::Parts {
  Config config;
  std::unique_ptr<Hypervisor> hypervisor;
  SettingsBox settings;
  std::unique_ptr<Mounter> mounter;
  std::unique_ptr<MountManager> mounts;
  std::unique_ptr<ServerDriver> driver;
  std::unique_ptr<AgentService> service;
  std::unique_ptr<grpc::Server> server;
  std::thread registration;
  std::thread recovery;  // only while the first recovery failed
  StopSignal stop;
  int port = 0;
  // The conductor's last answer, for /healthcheck (read on the ops
  // server's threads, written by the registration thread).
  Mutex conductor_mu;
  std::string conductor_error ABSL_GUARDED_BY(conductor_mu) =
      "not registered yet";
  std::unique_ptr<HttpServer> ops;
  int ops_port = 0;

  std::vector<HealthCheck> HealthChecks() {
    return {{"libvirt",
             [this] {
               auto info = hypervisor->Info();
               return info.ok() ? absl::OkStatus() : info.status();
             }},
            {"conductor", [this] { return ConductorHealth(); }}};
  }

  absl::Status ConductorHealth() ABSL_LOCKS_EXCLUDED(conductor_mu) {
    MutexLock lock(&conductor_mu);
    return conductor_error.empty() ? absl::OkStatus()
                                   : absl::UnavailableError(conductor_error);
  }

  // Registers until the conductor accepts, then heartbeats; registers again
  // when the conductor no longer knows this host.
  void RegistrationLoop() {
    const GrpcTls tls = GrpcTlsFrom(config);
    auto channel = MakeGrpcChannel(
        config.GetString("compute", "conductor_endpoint", "127.0.0.1:8780"),
        tls, tls.conductor_name);
    auto stub = agentpb::AgentRegistry::NewStub(channel);
    bool registered = false, logged = false;
    Duration interval = std::chrono::seconds(1);
    while (!stop.stopped()) {
      grpc::ClientContext ctx;
      grpc::Status s;
      if (!registered) {
        // Facts first: libvirt may take seconds (QEMU capability probes),
        // which must not eat the call's deadline.
        auto facts = CollectFacts(*hypervisor, settings.Get());
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
        if (!facts.ok()) {
          s = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           std::string(facts.status().message()));
        } else {
          agentpb::RegisterRequest req;
          *req.mutable_facts() = *facts;
          agentpb::RegisterReply reply;
          s = stub->Register(&ctx, req, &reply);
          if (s.ok()) {
            registered = true;
            interval = std::chrono::seconds(
                std::max(1, reply.heartbeat_interval_seconds()));
            SP_LOG(Info) << "Registered host " << facts->hostname()
                         << " with traits [" << facts->traits_size() << "]";
          }
        }
      } else {
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
        agentpb::HeartbeatRequest req;
        req.set_hostname(settings.Get().hostname);
        agentpb::HeartbeatReply reply;
        s = stub->Heartbeat(&ctx, req, &reply);
        if (s.error_code() == grpc::StatusCode::NOT_FOUND) registered = false;
      }
      if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        // The conductor refuses this host as configured: say so every time.
        SP_LOG(Error) << "The conductor refused this host: "
                      << s.error_message();
      } else if (!s.ok() && !logged) {
        SP_LOG(Warning) << "Conductor registry: " << s.error_message()
                        << "; retrying";
      }
      logged = !s.ok();
      {
        MutexLock lock(&conductor_mu);
        conductor_error = s.ok() ? "" : s.error_message();
      }
      Metrics::Global().Increment("shareplane_agent_registry_calls_total",
                                  {{"result", s.ok() ? "ok" : "failed"}});
      stop.WaitFor(registered && s.ok() ? interval : std::chrono::seconds(1));
    }
  }
};

ComputeAgent::ComputeAgent(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}
ComputeAgent::~ComputeAgent() { Stop(); }

absl::StatusOr<std::unique_ptr<ComputeAgent>> ComputeAgent::Create(
    const Config& config, std::unique_ptr<Hypervisor> hypervisor) {
  auto parts = std::make_unique<Parts>();
  parts->config = config;
  if (hypervisor) {
    parts->hypervisor = std::move(hypervisor);
  } else {
    SP_ASSIGN_OR_RETURN(parts->hypervisor, HypervisorFrom(config));
  }
  const std::string driver =
      config.GetString("compute", "mount_driver", "system");
  if (driver == "memory") {
    // A test hook: nothing is mounted. Said at every start, like
    // grpc_insecure.
    SP_LOG(Warning) << "[compute] mount_driver = memory: shares are not "
                       "mounted (in-memory twin for tests)";
    parts->mounter = std::make_unique<InMemoryMounter>();
  } else if (driver == "system") {
    parts->mounter = std::make_unique<SystemMounter>(
        config.GetString("compute", "mount_helper", "mount"),
        config.GetInt("compute", "mount_timeout", 60));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "[compute] mount_driver must be system or memory, not '", driver, "'"));
  }
  parts->mounts =
      std::make_unique<MountManager>(*parts->mounter, MountOptionsFrom(config));
  parts->driver = std::make_unique<ServerDriver>(
      *parts->hypervisor, *parts->mounts, DomainOptionsFrom(config));
  return std::unique_ptr<ComputeAgent>(new ComputeAgent(std::move(parts)));
}

absl::Status ComputeAgent::Start() {
  Parts& p = *parts_;
  if (absl::Status s =
          CheckAgentPlaneTls(GrpcTlsFrom(p.config), "the compute agent");
      !s.ok()) {
    return s;
  }
  // Recovery before serving: mount users from the running domains, unused
  // mounts released. Until it succeeds the driver refuses changes, and it
  // is tried again every few seconds (libvirt may come up after us).
  if (absl::Status s = p.driver->Recover(*p.mounter); !s.ok()) {
    SP_LOG(Warning) << "Recovery: " << s.message()
                    << "; changes are refused until it succeeds";
    p.recovery = std::thread([&p] {
      while (!p.stop.stopped() && !p.driver->recovered()) {
        p.stop.WaitFor(std::chrono::seconds(3));
        if (p.stop.stopped()) return;
        if (absl::Status s = p.driver->Recover(*p.mounter); !s.ok()) {
          SP_LOG(Warning) << "Recovery: " << s.message();
        }
      }
    });
  }
  const std::string host = p.config.GetString("compute", "listen", "0.0.0.0");
  p.service =
      std::make_unique<AgentService>(*p.hypervisor, p.settings, *p.driver);
  // Only the conductor steers this host: with TLS every call must come
  // with a certificate that names it.
  const GrpcTls tls = GrpcTlsFrom(p.config);
  auto port =
      StartGrpcServer(host, p.config.GetInt("compute", "listen_port", 8781),
                      p.service.get(), p.server, tls, tls.conductor_name);
  if (!port.ok()) return port.status();
  p.port = *port;
  p.settings.Set(HostSettingsFrom(p.config, p.port));
  SP_LOG(Info) << "Compute agent for host " << p.settings.Get().hostname
               << " listening on port " << p.port;
  p.registration = std::thread([&p] { p.RegistrationLoop(); });
  p.ops = std::make_unique<HttpServer>(
      [checks = p.HealthChecks()](const HttpRequest& r) {
        if (auto out = ServeOps(r, checks)) return *out;
        return HttpResponse{404, {}, "Not Found\n"};
      },
      2);
  auto ops_port =
      p.ops->Listen(p.config.GetString("compute", "ops_listen", host),
                    p.config.GetInt("compute", "ops_listen_port", 8783));
  if (!ops_port.ok()) return ops_port.status();
  p.ops_port = *ops_port;
  p.ops->Start();
  return absl::OkStatus();
}

void ComputeAgent::Stop() {
  parts_->stop.Stop();
  if (parts_->registration.joinable()) parts_->registration.join();
  if (parts_->recovery.joinable()) parts_->recovery.join();
  if (parts_->ops) parts_->ops->Stop();
  StopGrpcServer(parts_->server);
}

int ComputeAgent::port() const { return parts_->port; }

}  // namespace shareplane
