// Wiring of shareplane-api: the compute REST listener and the outbox relay
// over PostgreSQL, RabbitMQ and Manila. Tests build the same daemon.
#ifndef SHAREPLANE_API_SERVICE_API_SERVICE_H_
#define SHAREPLANE_API_SERVICE_API_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/core/config.h"

namespace shareplane {

class ApiService {
 public:
  // Reads [api] listen/listen_port/workers/grpc_listen/grpc_listen_port/
  // auth_strategy, [oslo_policy] policy_file, [database], [manila],
  // [DEFAULT] transport_url, [conductor] task_queue. With
  // [database] sync_on_start = true, applies migrations first.
  static absl::StatusOr<std::unique_ptr<ApiService>> Create(
      const Config& config);
  ~ApiService();

  // Binds the listener and starts serving and relaying.
  absl::Status Start();
  void Stop();
  int compute_port() const;
  int grpc_port() const;
  int metadata_port() const;

 private:
  struct Parts;
  explicit ApiService(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_API_SERVICE_H_
