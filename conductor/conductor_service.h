// Wiring of shareplane-conductor: task consumers running the workflows and
// the agent registry. Tests build the same daemon.
#ifndef SHAREPLANE_CONDUCTOR_CONDUCTOR_SERVICE_H_
#define SHAREPLANE_CONDUCTOR_CONDUCTOR_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/amqp/amqp_bus.h"
#include "common/core/config.h"

namespace shareplane {

// Decodes one task message and runs its workflow. Ack when done or recorded
// as failed; Requeue when the database was unreachable; Reject when the
// message cannot be decoded.
class TaskDispatcher;

class ConductorService {
 public:
  // Reads [DEFAULT] transport_url, [database], [manila] (endpoint, timeout,
  // access_rule_timeout, cephx_id, service_user, service_project),
  // [conductor] task_queue/workers/listen/listen_port.
  static absl::StatusOr<std::unique_ptr<ConductorService>> Create(
      const Config& config);
  ~ConductorService();

  absl::Status Start();
  void Stop();
  int registry_port() const;

 private:
  struct Parts;
  explicit ConductorService(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_CONDUCTOR_SERVICE_H_
