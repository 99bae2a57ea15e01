#include "api-service/api_service.h"

#include "api-service/compute_api.h"
#include "api-service/faults.h"
#include "api-service/outbox_relay.h"
#include "common/log.h"
#include "common/settings.h"

namespace shareplane {

struct ApiService::Parts {
  const Config config;
  Database db;
  AmqpPublisher publisher;
  ManilaClient manila;
  SharesApi shares;
  ComputeApi compute;
  OutboxRelay relay;
  HttpServer server;
  int port = 0;

  explicit Parts(const Config& c)
      : config(c),
        db(DatabaseOptionsFrom(c)),
        publisher(AmqpOptionsFrom(c)),
        manila(ManilaOptionsFrom(c)),
        shares(db, manila, TaskQueueFrom(c)),
        compute(shares),
        relay(db, publisher),
        server([this](const HttpRequest& r) { return compute.Handle(r); },
               c.GetInt("api", "workers", 16), FaultResponse) {}
};

ApiService::ApiService(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}
ApiService::~ApiService() { Stop(); }

absl::StatusOr<std::unique_ptr<ApiService>> ApiService::Create(
    const Config& config) {
  auto parts = std::make_unique<Parts>(config);
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
  parts_->server.Start();
  parts_->relay.Start();
  SP_LOG(Info) << "Compute API listening on http://" << host << ":" << *port;
  return absl::OkStatus();
}

void ApiService::Stop() {
  parts_->server.Stop();
  parts_->relay.Stop();
}

int ApiService::compute_port() const { return parts_->port; }

}  // namespace shareplane
