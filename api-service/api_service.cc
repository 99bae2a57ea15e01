#include "api-service/api_service.h"

#include "absl/strings/str_cat.h"
#include "api-service/compute_api.h"
#include "api-service/faults.h"
#include "api-service/grpc_front.h"
#include "api-service/metadata_api.h"
#include "common/amqp/amqp_settings.h"
#include "common/amqp/outbox_relay.h"
#include "common/core/log.h"
#include "common/core/settings.h"
#include "common/http/ops.h"
#include "common/openstack/openstack_settings.h"
#include "common/pg/pg_settings.h"

namespace shareplane {

namespace {

// Version documents never block; attach waits on Manila, so it gets a pool
// of its own that cannot starve database work; everything else reads or
// writes PostgreSQL.
HttpLane ComputeLane(const HttpRequest& r) {
  if (r.method == "GET" &&
      (r.path == "/" || r.path == "/v2.1" || r.path == "/v2.1/")) {
    return HttpLane::kInline;
  }
  if (r.method == "POST" && r.path.size() > 7 &&
      r.path.compare(r.path.size() - 7, 7, "/shares") == 0) {
    return HttpLane::kSlow;
  }
  return HttpLane::kDefault;
}

}  // namespace

struct ApiService::Parts {
  const Config config;
  Database db;
  AmqpPublisher publisher;
  std::unique_ptr<KeystoneSession> manila_keystone;
  ManilaClient manila;
  Policy policy;
  std::unique_ptr<Authenticator> auth;
  ApiDeps deps;
  ShareService share_service;
  ServerService server_service;
  SharesApi shares;
  ServersApi servers;
  ResourcesApi resources;
  ComputeApi compute;
  GrpcFront grpc;
  OutboxRelay relay;
  std::vector<HealthCheck> health;
  HttpServer server;
  MetadataApi metadata;
  HttpServer metadata_server;
  int port = 0;
  int grpc_port = 0;
  int metadata_port = 0;

  Parts(const Config& c, Policy p, std::unique_ptr<Authenticator> a)
      : config(c),
        db(DatabaseOptionsFrom(c)),
        publisher(AmqpOptionsFrom(c)),
        manila_keystone(ManilaKeystoneFrom(c)),
        manila(ManilaOptionsFrom(c, manila_keystone.get())),
        policy(std::move(p)),
        auth(std::move(a)),
        deps{db,
             manila,
             policy,
             TaskQueueFrom(c),
             c.GetInt("DEFAULT", "service_down_time", 60),
             c.GetDouble("DEFAULT", "ram_allocation_ratio", 1.5),
             c.GetDouble("DEFAULT", "cpu_allocation_ratio", 16.0),
             c.GetBool("api", "live_share_attach", true)},
        share_service(deps),
        server_service(deps),
        shares(share_service),
        servers(deps, server_service),
        resources(deps),
        compute(*auth, shares, servers, resources),
        grpc(*auth, deps, share_service, server_service),
        relay(db, publisher),
        health{DatabaseHealthCheck(db),
               {"rabbitmq",
                [amqp = AmqpOptionsFrom(c)] { return ProbeAmqp(amqp); }}},
        server(
            [this](const HttpRequest& r) {
              if (auto ops = ServeOps(r, health)) return *ops;
              return compute.Handle(r);
            },
            c.GetInt("api", "io_threads", 2),
            [this](int status, const std::string& message) {
              return compute.FramingError(status, message);
            }),
        metadata(db, c.GetString("api", "metadata_proxy_shared_secret", "")),
        metadata_server(
            [this](const HttpRequest& r) { return metadata.Handle(r); }, 1,
            [this](int status, const std::string& message) {
              return metadata.FramingError(status, message);
            }) {
    const size_t queued = c.GetInt("api", "max_queued_requests", 256);
    server.SetWorkerLanes(ComputeLane, c.GetInt("api", "workers", 16),
                          c.GetInt("api", "slow_workers", 32), queued);
    metadata_server.SetWorkerLanes(
        [](const HttpRequest&) { return HttpLane::kDefault; },
        c.GetInt("api", "metadata_workers", 4), 1, queued);
  }
};

ApiService::ApiService(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}
ApiService::~ApiService() { Stop(); }

absl::StatusOr<std::unique_ptr<ApiService>> ApiService::Create(
    const Config& config) {
  auto auth = MakeAuthenticator(config);
  if (!auth.ok()) return auth.status();
  auto policy =
      Policy::Load(config.GetString("oslo_policy", "policy_file", ""));
  if (!policy.ok()) return policy.status();
  auto parts =
      std::make_unique<Parts>(config, std::move(*policy), std::move(*auth));
  if (config.GetBool("database", "sync_on_start", false)) {
    auto version = MigrateSchema(parts->db);
    if (!version.ok()) return version.status();
  }
  return std::unique_ptr<ApiService>(new ApiService(std::move(parts)));
}

absl::Status ApiService::Start() {
  const std::string host = parts_->config.GetString("api", "listen", "0.0.0.0");
  auto port = parts_->server.Listen(
      host, parts_->config.GetInt("api", "listen_port", 8774));
  if (!port.ok()) return port.status();
  parts_->port = *port;
  auto grpc_port = parts_->grpc.Start(
      parts_->config.GetString("api", "grpc_listen", host),
      parts_->config.GetInt("api", "grpc_listen_port", 8779));
  if (!grpc_port.ok()) return grpc_port.status();
  parts_->grpc_port = *grpc_port;
  auto metadata_port = parts_->metadata_server.Listen(
      parts_->config.GetString("api", "metadata_listen", host),
      parts_->config.GetInt("api", "metadata_listen_port", 8775));
  if (!metadata_port.ok()) return metadata_port.status();
  parts_->metadata_port = *metadata_port;
  parts_->server.Start();
  parts_->metadata_server.Start();
  parts_->relay.Start();
  RegisterOutboxDepthMetric(parts_->db);
  SP_LOG(Info) << "Compute API listening on http://" << host << ":" << *port
               << ", gRPC on port " << *grpc_port << ", metadata on port "
               << *metadata_port;
  return absl::OkStatus();
}

void ApiService::Stop() {
  parts_->server.Stop();
  parts_->metadata_server.Stop();
  parts_->grpc.Stop();
  parts_->relay.Stop();
}

int ApiService::compute_port() const { return parts_->port; }
int ApiService::grpc_port() const { return parts_->grpc_port; }
int ApiService::metadata_port() const { return parts_->metadata_port; }

}  // namespace shareplane
