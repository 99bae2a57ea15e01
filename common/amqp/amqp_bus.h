// The message bus on RabbitMQ (rabbitmq-c): durable queues, persistent
// messages, publisher confirms, manual acks, reconnection after the broker
// restarts. Messages go through the default exchange, routed by queue name.
#ifndef SHAREPLANE_COMMON_AMQP_AMQP_BUS_H_
#define SHAREPLANE_COMMON_AMQP_AMQP_BUS_H_

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/core/clock.h"
#include "common/core/mutex.h"

namespace shareplane {

struct AmqpOptions {
  // amqp://user:password@host:port/vhost, or amqps:// for TLS
  std::string url = "amqp://guest:guest@127.0.0.1:5672/";
  // amqps://: the CA the broker's certificate must chain to (empty: the
  // system's), and a client certificate and key if the broker asks for one.
  std::string ca_file, cert_file, key_file;
  Duration confirm_timeout = std::chrono::seconds(10);
  Duration reconnect_interval = std::chrono::milliseconds(500);
  int prefetch = 1;
  // Seconds of silence after which either side drops a consumer's
  // connection (AMQP heartbeat; the consumer sends its own meanwhile).
  int heartbeat_seconds = 30;
  // Consumers: with max_deliveries > 0, a message the handler asks to
  // requeue goes to "<queue>.retry.<ms>" and returns after requeue_delay;
  // after max_deliveries failed runs (or when rejected) it goes to
  // "<queue>.dead" with the reason. The delay doubles with each failed run
  // (at most a minute). 0: requeued at once, forever.
  int max_deliveries = 0;
  Duration requeue_delay = std::chrono::seconds(1);
  // What of a message's body goes to "<queue>.dead" (nothing set: all of
  // it). The conductor drops the caller's token there: a dead letter is
  // kept until an operator reads it.
  std::function<std::string(const std::string& body)> dead_letter_body;
};

class AmqpChannel;  // one connection with one channel; in amqp_bus.cc

// Opens and closes one connection to the broker: OK when it answers (for
// health checks).
absl::Status ProbeAmqp(const AmqpOptions& options);

// Thread-safe (calls are serialized). Blocks until the broker confirms.
class AmqpPublisher {
 public:
  explicit AmqpPublisher(AmqpOptions options);
  ~AmqpPublisher();

  // Publishes a persistent message to the durable queue `queue` (declared
  // on first use) and waits for the broker's confirm. Unavailable when the
  // broker cannot be reached or nacks; the next call reconnects.
  absl::Status Publish(const std::string& queue, const std::string& body,
                       const std::string& message_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Publishes a persistent JSON message to the durable topic `exchange`
  // (declared on first use) with `routing_key`, and waits for the confirm.
  // Unroutable messages are dropped by the broker, as notifications are
  // when nobody listens.
  absl::Status PublishToExchange(const std::string& exchange,
                                 const std::string& routing_key,
                                 const std::string& body,
                                 const std::string& message_id)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status EnsureChannelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the channel (the next call reconnects) and returns `s`.
  absl::Status FailLocked(absl::Status s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PublishLocked(const std::string& exchange,
                             const std::string& routing_key,
                             const std::string& body,
                             const std::string& message_id, bool mandatory,
                             const char* content_type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const AmqpOptions options_;
  Mutex mu_;  // held for a whole publish, confirm included
  std::unique_ptr<AmqpChannel> channel_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> declared_ ABSL_GUARDED_BY(mu_);
  uint64_t next_tag_ ABSL_GUARDED_BY(mu_) = 1;
};

struct AmqpMessage {
  std::string body;
  std::string message_id;
  bool redelivered = false;
  int failed_runs = 0;  // kRequeue answers so far (max_deliveries mode)
};

enum class Disposition {
  kAck,      // done
  kRequeue,  // failed, try again later: counts towards max_deliveries
  kDefer,    // not now (another task holds its server): later, not counted
  kReject,   // can never succeed: dead-lettered (or dropped without retry)
};

// Consumes one durable queue with manual acks until `stop` is signalled;
// reconnects (and re-declares) whenever the connection drops. Unacked
// messages return to the queue when the connection dies.
class AmqpConsumer {
 public:
  using Handler = std::function<Disposition(const AmqpMessage&)>;
  // With `exchange`, also declares that durable topic exchange and binds the
  // queue to it with `binding_key`.
  AmqpConsumer(AmqpOptions options, std::string queue,
               std::string exchange = "", std::string binding_key = "");
  ~AmqpConsumer();

  // Blocks; one message at a time. The handler runs on a thread of its own
  // while this one keeps the connection alive (heartbeats), so a long
  // workflow does not lose its connection and get redelivered.
  void Run(const Handler& handler, StopSignal& stop);

 private:
  absl::Status Connect();
  // Runs the handler, servicing the connection meanwhile; false when the
  // connection was lost (the broker redelivers the message).
  bool RunHandler(const Handler& handler, const AmqpMessage& msg,
                  Disposition& d);
  // Acks, or moves the message to the retry or dead queue, then acks.
  bool Settle(uint64_t tag, const AmqpMessage& msg, Disposition d);
  class HandlerThread;
  // Everything below is used by the thread in Run() only (the handler
  // runs on handler_thread_ and sees none of it): no lock.
  AmqpOptions options_;
  std::string queue_;
  std::string exchange_;
  std::string binding_key_;
  std::unique_ptr<AmqpChannel> channel_;
  std::set<std::string> retry_queues_;  // declared on channel_
  std::unique_ptr<HandlerThread> handler_thread_;
};

// Masks the password of an AMQP or PostgreSQL URL for logging.
std::string RedactUrl(absl::string_view url);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_AMQP_AMQP_BUS_H_
