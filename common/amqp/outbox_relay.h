// Publishes outbox rows to RabbitMQ and marks them sent. Wakes on the
// outbox's NOTIFY and also polls, so nothing waits for long if a
// notification is missed. Rows whose publish fails stay unsent and are
// retried; a row may be published twice (crash between publish and
// commit), so consumers are idempotent.
#ifndef SHAREPLANE_COMMON_AMQP_OUTBOX_RELAY_H_
#define SHAREPLANE_COMMON_AMQP_OUTBOX_RELAY_H_

#include <thread>

#include "common/amqp/amqp_bus.h"
#include "common/core/clock.h"
#include "common/pg/db.h"

namespace shareplane {

class OutboxRelay {
 public:
  OutboxRelay(Database& db, AmqpPublisher& publisher,
              Duration poll_interval = std::chrono::seconds(1));
  ~OutboxRelay();  // stops

  void Start();
  void Stop();
  // Publishes everything unsent now; returns how many rows were sent.
  absl::StatusOr<int> Drain();

 private:
  void Loop();
  Database& db_;
  AmqpPublisher& publisher_;
  Duration poll_interval_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_AMQP_OUTBOX_RELAY_H_
