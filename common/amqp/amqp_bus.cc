#include "common/amqp/amqp_bus.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <algorithm>
#include <future>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/status.h"

namespace shareplane {

std::string RedactUrl(absl::string_view url) {
  size_t scheme = url.find("://");
  size_t at = url.rfind('@');
  if (scheme == absl::string_view::npos || at == absl::string_view::npos ||
      at < scheme) {
    return std::string(url);
  }
  size_t colon = url.find(':', scheme + 3);
  if (colon == absl::string_view::npos || colon > at) return std::string(url);
  return absl::StrCat(url.substr(0, colon + 1), "***", url.substr(at));
}

namespace {

std::string ReplyError(const amqp_rpc_reply_t& r, absl::string_view what) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "";
    case AMQP_RESPONSE_NONE:
      return absl::StrCat(what, ": missing RPC reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return absl::StrCat(what, ": ", amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return absl::StrCat(
            what, ": connection closed by broker: ",
            absl::string_view(static_cast<char*>(m->reply_text.bytes),
                              m->reply_text.len));
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return absl::StrCat(
            what, ": channel closed by broker: ",
            absl::string_view(static_cast<char*>(m->reply_text.bytes),
                              m->reply_text.len));
      }
      return absl::StrCat(what, ": broker error");
  }
  return absl::StrCat(what, ": unknown error");
}

}  // namespace

// One connection and channel 1. Not thread-safe.
class AmqpChannel {
 public:
  ~AmqpChannel() {
    if (conn_ != nullptr) {
      if (open_) {
        amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
      }
      amqp_destroy_connection(conn_);
    }
  }

  absl::Status Open(const AmqpOptions& options, int heartbeat) {
    const std::string& url = options.url;
    std::vector<char> buf(url.begin(), url.end());
    buf.push_back('\0');
    amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
      return absl::InvalidArgumentError(
          absl::StrCat("Malformed AMQP URL '", RedactUrl(url), "'"));
    }
    // "amqp://host/" parses to the empty vhost; treat it as "/" as
    // oslo.messaging does.
    if (info.vhost == nullptr || info.vhost[0] == '\0') {
      info.vhost = const_cast<char*>("/");
    }
    conn_ = amqp_new_connection();
    amqp_socket_t* socket = nullptr;
    if (info.ssl) {
      // amqps://: the broker's certificate must chain to ssl_ca_file and
      // name the host of the URL.
      socket = amqp_ssl_socket_new(conn_);
      if (socket == nullptr) return absl::InternalError("amqp_ssl_socket_new");
      amqp_ssl_socket_set_verify_peer(socket, 1);
      amqp_ssl_socket_set_verify_hostname(socket, 1);
      if (!options.ca_file.empty() &&
          amqp_ssl_socket_set_cacert(socket, options.ca_file.c_str()) !=
              AMQP_STATUS_OK) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Cannot read the RabbitMQ CA file '", options.ca_file, "'"));
      }
      if (!options.cert_file.empty() &&
          amqp_ssl_socket_set_key(socket, options.cert_file.c_str(),
                                  options.key_file.c_str()) != AMQP_STATUS_OK) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Cannot read the RabbitMQ client certificate '", options.cert_file,
            "' or key '", options.key_file, "'"));
      }
    } else {
      socket = amqp_tcp_socket_new(conn_);
      if (socket == nullptr) return absl::InternalError("amqp_tcp_socket_new");
    }
    struct timeval tv = {5, 0};
    int rc = amqp_socket_open_noblock(socket, info.host, info.port, &tv);
    if (rc != AMQP_STATUS_OK) {
      return absl::UnavailableError(
          absl::StrCat("Cannot connect to RabbitMQ at ", info.host, ":",
                       info.port, ": ", amqp_error_string2(rc)));
    }
    amqp_rpc_reply_t r =
        amqp_login(conn_, info.vhost, 0, 131072, heartbeat,
                   AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      return absl::UnavailableError(ReplyError(r, "RabbitMQ login"));
    }
    amqp_channel_open(conn_, 1);
    SP_RETURN_IF_ERROR(Check(amqp_get_rpc_reply(conn_), "channel.open"));
    open_ = true;
    return absl::OkStatus();
  }

  absl::Status Declare(const std::string& queue) {
    amqp_queue_declare(conn_, 1, amqp_cstring_bytes(queue.c_str()), 0,
                       /*durable=*/1, 0, /*auto_delete=*/0, amqp_empty_table);
    return Check(amqp_get_rpc_reply(conn_), "queue.declare " + queue);
  }

  // A queue whose messages wait `ttl_ms`, then go back to `target` through
  // the default exchange. One queue per delay: RabbitMQ expires messages
  // only at a queue's head, so a short wait must never queue behind a long.
  absl::Status DeclareRetry(const std::string& queue, const std::string& target,
                            int64_t ttl_ms) {
    amqp_table_entry_t entries[3];
    entries[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
    entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[0].value.value.bytes = amqp_cstring_bytes("");
    entries[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
    entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
    entries[1].value.value.bytes = amqp_cstring_bytes(target.c_str());
    entries[2].key = amqp_cstring_bytes("x-message-ttl");
    entries[2].value.kind = AMQP_FIELD_KIND_I64;
    entries[2].value.value.i64 = ttl_ms;
    amqp_table_t args{3, entries};
    amqp_queue_declare(conn_, 1, amqp_cstring_bytes(queue.c_str()), 0,
                       /*durable=*/1, 0, /*auto_delete=*/0, args);
    return Check(amqp_get_rpc_reply(conn_), "queue.declare " + queue);
  }

  absl::Status DeclareExchange(const std::string& exchange) {
    amqp_exchange_declare(conn_, 1, amqp_cstring_bytes(exchange.c_str()),
                          amqp_cstring_bytes("topic"), 0, /*durable=*/1,
                          /*auto_delete=*/0, 0, amqp_empty_table);
    return Check(amqp_get_rpc_reply(conn_), "exchange.declare " + exchange);
  }

  absl::Status Bind(const std::string& queue, const std::string& exchange,
                    const std::string& key) {
    amqp_queue_bind(conn_, 1, amqp_cstring_bytes(queue.c_str()),
                    amqp_cstring_bytes(exchange.c_str()),
                    amqp_cstring_bytes(key.c_str()), amqp_empty_table);
    return Check(amqp_get_rpc_reply(conn_), "queue.bind " + queue);
  }

  absl::Status Check(const amqp_rpc_reply_t& r, absl::string_view what) {
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return absl::OkStatus();
    return absl::UnavailableError(ReplyError(r, what));
  }

  amqp_connection_state_t conn() { return conn_; }

 private:
  amqp_connection_state_t conn_ = nullptr;
  bool open_ = false;
};

AmqpPublisher::AmqpPublisher(AmqpOptions options)
    : options_(std::move(options)) {}
AmqpPublisher::~AmqpPublisher() = default;

absl::Status AmqpPublisher::Publish(const std::string& queue,
                                    const std::string& body,
                                    const std::string& message_id) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureChannelLocked(); !s.ok()) return s;
  if (!declared_.count(queue)) {
    absl::Status s = channel_->Declare(queue);
    if (!s.ok()) return FailLocked(s);
    declared_.insert(queue);
  }
  return PublishLocked("", queue, body, message_id, /*mandatory=*/true,
                       "application/x-protobuf");
}

absl::Status AmqpPublisher::PublishToExchange(const std::string& exchange,
                                              const std::string& routing_key,
                                              const std::string& body,
                                              const std::string& message_id) {
  MutexLock lock(&mu_);
  if (absl::Status s = EnsureChannelLocked(); !s.ok()) return s;
  const std::string key = "exchange:" + exchange;
  if (!declared_.count(key)) {
    absl::Status s = channel_->DeclareExchange(exchange);
    if (!s.ok()) return FailLocked(s);
    declared_.insert(key);
  }
  return PublishLocked(exchange, routing_key, body, message_id,
                       /*mandatory=*/false, "application/json");
}

absl::Status AmqpPublisher::FailLocked(absl::Status s) {
  channel_.reset();  // reconnect on the next call
  declared_.clear();
  return s;
}

absl::Status AmqpPublisher::EnsureChannelLocked() {
  if (channel_) return absl::OkStatus();
  auto channel = std::make_unique<AmqpChannel>();
  absl::Status s = channel->Open(options_, /*heartbeat=*/0);
  if (!s.ok()) return s;
  amqp_confirm_select(channel->conn(), 1);
  s = channel->Check(amqp_get_rpc_reply(channel->conn()), "confirm.select");
  if (!s.ok()) return s;
  channel_ = std::move(channel);
  next_tag_ = 1;
  return absl::OkStatus();
}

absl::Status AmqpPublisher::PublishLocked(const std::string& exchange,
                                          const std::string& routing_key,
                                          const std::string& body,
                                          const std::string& message_id,
                                          bool mandatory,
                                          const char* content_type) {
  const std::string& queue = routing_key;
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
                 AMQP_BASIC_MESSAGE_ID_FLAG;
  props.delivery_mode = 2;  // persistent
  props.content_type = amqp_cstring_bytes(content_type);
  props.message_id = amqp_cstring_bytes(message_id.c_str());
  amqp_bytes_t bytes{body.size(), const_cast<char*>(body.data())};
  int rc = amqp_basic_publish(channel_->conn(), 1,
                              amqp_cstring_bytes(exchange.c_str()),
                              amqp_cstring_bytes(routing_key.c_str()),
                              mandatory ? 1 : 0, 0, &props, bytes);
  if (rc != AMQP_STATUS_OK) {
    return FailLocked(absl::UnavailableError(absl::StrCat(
        "Publish to '", queue, "' failed: ", amqp_error_string2(rc))));
  }
  const uint64_t tag = next_tag_++;
  bool returned = false;
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
      options_.confirm_timeout);
  while (true) {
    amqp_frame_t frame;
    struct timeval tv = {static_cast<time_t>(timeout.count() / 1000000),
                         static_cast<suseconds_t>(timeout.count() % 1000000)};
    amqp_maybe_release_buffers(channel_->conn());
    rc = amqp_simple_wait_frame_noblock(channel_->conn(), &frame, &tv);
    if (rc != AMQP_STATUS_OK) {
      return FailLocked(absl::UnavailableError(
          absl::StrCat("No confirm from RabbitMQ for '", queue,
                       "': ", amqp_error_string2(rc))));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;  // returned content
    switch (frame.payload.method.id) {
      case AMQP_BASIC_RETURN_METHOD:
        returned = true;
        break;
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack =
            static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->delivery_tag == tag ||
            (ack->multiple && ack->delivery_tag >= tag)) {
          if (returned) {
            return absl::UnavailableError(absl::StrCat(
                "RabbitMQ returned the message: no queue '", queue, "'"));
          }
          return absl::OkStatus();
        }
        break;
      }
      case AMQP_BASIC_NACK_METHOD:
        return FailLocked(absl::UnavailableError(
            absl::StrCat("RabbitMQ nacked the message for '", queue, "'")));
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        return FailLocked(absl::UnavailableError(absl::StrCat(
            "RabbitMQ closed the channel publishing to '", queue, "'")));
      default:
        break;
    }
  }
}

AmqpConsumer::AmqpConsumer(AmqpOptions options, std::string queue,
                           std::string exchange, std::string binding_key)
    : options_(std::move(options)),
      queue_(std::move(queue)),
      exchange_(std::move(exchange)),
      binding_key_(std::move(binding_key)) {}

absl::Status ProbeAmqp(const AmqpOptions& options) {
  AmqpChannel channel;
  return channel.Open(options, 0);
}

absl::Status AmqpConsumer::Connect() {
  auto channel = std::make_unique<AmqpChannel>();
  SP_RETURN_IF_ERROR(channel->Open(options_, options_.heartbeat_seconds));
  SP_RETURN_IF_ERROR(channel->Declare(queue_));
  retry_queues_.clear();
  if (options_.max_deliveries > 0) {
    SP_RETURN_IF_ERROR(channel->Declare(queue_ + ".dead"));
  }
  if (!exchange_.empty()) {
    SP_RETURN_IF_ERROR(channel->DeclareExchange(exchange_));
    SP_RETURN_IF_ERROR(channel->Bind(queue_, exchange_, binding_key_));
  }
  amqp_basic_qos(channel->conn(), 1, 0, options_.prefetch, 0);
  SP_RETURN_IF_ERROR(
      channel->Check(amqp_get_rpc_reply(channel->conn()), "basic.qos"));
  amqp_basic_consume(channel->conn(), 1, amqp_cstring_bytes(queue_.c_str()),
                     amqp_empty_bytes, 0, /*no_ack=*/0, 0, amqp_empty_table);
  SP_RETURN_IF_ERROR(
      channel->Check(amqp_get_rpc_reply(channel->conn()), "basic.consume"));
  channel_ = std::move(channel);
  return absl::OkStatus();
}

namespace {

constexpr char kFailedRunsHeader[] = "x-shareplane-failed-runs";
constexpr char kReasonHeader[] = "x-shareplane-dead-reason";

int FailedRuns(const amqp_basic_properties_t& props) {
  if (!(props._flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    if (std::string(static_cast<const char*>(e.key.bytes), e.key.len) ==
            kFailedRunsHeader &&
        e.value.kind == AMQP_FIELD_KIND_I32) {
      return e.value.value.i32;
    }
  }
  return 0;
}

}  // namespace

// One long-lived thread running the consumer's handlers, so what a handler
// keeps per thread (its database lock connection) lives across messages.
class AmqpConsumer::HandlerThread {
 public:
  HandlerThread() : thread_([this] { Loop(); }) {}
  ~HandlerThread() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(&mu_);
      stopped_ = true;
      wake_.Signal();  // Loop is the one waiter
    }
    thread_.join();
  }
  std::future<Disposition> Submit(std::function<Disposition()> fn)
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::packaged_task<Disposition()> job(std::move(fn));
    std::future<Disposition> result = job.get_future();
    {
      MutexLock lock(&mu_);
      job_ = std::move(job);
      pending_ = true;
      wake_.Signal();
    }
    return result;
  }

 private:
  bool StoppedOrPendingLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return stopped_ || pending_;
  }

  void Loop() ABSL_LOCKS_EXCLUDED(mu_) {
    for (;;) {
      std::packaged_task<Disposition()> job;
      {
        MutexLock lock(&mu_);
        while (!StoppedOrPendingLocked()) wake_.Wait(&mu_);
        if (!pending_) return;  // stopped, nothing left to run
        job = std::move(job_);
        pending_ = false;
      }
      job();  // without the lock
    }
  }

  Mutex mu_;
  CondVar wake_;  // signalled when pending_ or stopped_ is set
  std::packaged_task<Disposition()> job_ ABSL_GUARDED_BY(mu_);
  bool pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started by the constructor, joined by the destructor
};

AmqpConsumer::~AmqpConsumer() = default;  // joins the handler thread

bool AmqpConsumer::RunHandler(const Handler& handler, const AmqpMessage& msg,
                              Disposition& d) {
  if (!handler_thread_) handler_thread_ = std::make_unique<HandlerThread>();
  auto done = handler_thread_->Submit([&] { return handler(msg); });
  bool alive = true;
  amqp_connection_state_t conn = channel_->conn();
  while (done.wait_for(std::chrono::milliseconds(0)) !=
         std::future_status::ready) {
    if (!alive) {
      done.wait();
      break;
    }
    // Waiting for a frame sends our heartbeats when due and notices the
    // broker's. With prefetch 1 nothing else should arrive before the ack.
    amqp_frame_t frame;
    struct timeval tv = {0, 200000};
    const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) continue;
    SP_LOG(Warning) << "Consumer of '" << queue_ << "': "
                    << (rc == AMQP_STATUS_OK ? "unexpected frame"
                                             : amqp_error_string2(rc))
                    << " while a task runs; reconnecting after it";
    alive = false;
  }
  d = done.get();
  return alive;
}

bool AmqpConsumer::Settle(uint64_t tag, const AmqpMessage& msg, Disposition d) {
  amqp_connection_state_t conn = channel_->conn();
  if (d == Disposition::kAck) return amqp_basic_ack(conn, 1, tag, 0) == 0;
  if (options_.max_deliveries <= 0) {
    const int requeue = d == Disposition::kReject ? 0 : 1;
    return amqp_basic_reject(conn, 1, tag, requeue) == AMQP_STATUS_OK;
  }
  const int failed = msg.failed_runs + (d == Disposition::kRequeue ? 1 : 0);
  std::string reason;
  if (d == Disposition::kReject) {
    reason = "rejected by its handler";
  } else if (failed >= options_.max_deliveries) {
    reason = absl::StrCat("failed ", failed, " times");
  }
  std::string target = queue_ + ".dead";
  amqp_table_entry_t headers[2];
  headers[0].key = amqp_cstring_bytes(kFailedRunsHeader);
  headers[0].value.kind = AMQP_FIELD_KIND_I32;
  headers[0].value.value.i32 = failed;
  headers[1].key = amqp_cstring_bytes(kReasonHeader);
  headers[1].value.kind = AMQP_FIELD_KIND_UTF8;
  headers[1].value.value.bytes = amqp_cstring_bytes(reason.c_str());
  // Failures back off (doubling, at most a minute), so a database outage
  // of minutes does not use up a task's runs; deferrals wait the base delay.
  int64_t delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         options_.requeue_delay)
                         .count();
  if (d == Disposition::kRequeue) {
    for (int i = 1; i < failed && delay_ms < 60000; ++i) delay_ms *= 2;
    delay_ms = std::min<int64_t>(delay_ms, 60000);
  }
  if (reason.empty()) {
    target = absl::StrCat(queue_, ".retry.", delay_ms);
    if (!retry_queues_.count(target)) {
      if (!channel_->DeclareRetry(target, queue_, delay_ms).ok()) return false;
      retry_queues_.insert(target);
    }
  }
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG |
                 AMQP_BASIC_MESSAGE_ID_FLAG;
  props.delivery_mode = 2;
  props.headers = amqp_table_t{reason.empty() ? 1 : 2, headers};
  props.message_id = amqp_cstring_bytes(msg.message_id.c_str());
  if (!reason.empty()) {
    SP_LOG(Error) << "Task message " << msg.message_id << " of '" << queue_
                  << "' " << reason << "; moved to '" << target << "'";
    Metrics::Global().Increment("shareplane_amqp_dead_lettered_total",
                                {{"queue", queue_}});
  }
  const std::string dead_body = !reason.empty() && options_.dead_letter_body
                                    ? options_.dead_letter_body(msg.body)
                                    : std::string();
  const std::string& sent =
      !reason.empty() && options_.dead_letter_body ? dead_body : msg.body;
  amqp_bytes_t body{sent.size(), const_cast<char*>(sent.data())};
  // Published before the ack: a crash in between delivers the task twice,
  // which idempotent handlers absorb; never zero times.
  if (amqp_basic_publish(conn, 1, amqp_cstring_bytes(""),
                         amqp_cstring_bytes(target.c_str()), 0, 0, &props,
                         body) != AMQP_STATUS_OK) {
    return false;
  }
  return amqp_basic_ack(conn, 1, tag, 0) == AMQP_STATUS_OK;
}

void AmqpConsumer::Run(const Handler& handler, StopSignal& stop) {
  bool logged_down = false;
  while (!stop.stopped()) {
    if (!channel_) {
      absl::Status s = Connect();
      if (!s.ok()) {
        if (!logged_down)
          SP_LOG(Warning) << "Consumer of '" << queue_ << "': " << s.message();
        logged_down = true;
        stop.WaitFor(options_.reconnect_interval);
        continue;
      }
      SP_LOG(Info) << "Consuming '" << queue_ << "' on "
                   << RedactUrl(options_.url);
      logged_down = false;
    }
    amqp_connection_state_t conn = channel_->conn();
    amqp_maybe_release_buffers(conn);
    amqp_envelope_t env;
    struct timeval tv = {0, 200000};
    amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      AmqpMessage msg;
      msg.body.assign(static_cast<char*>(env.message.body.bytes),
                      env.message.body.len);
      if (env.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        msg.message_id.assign(
            static_cast<char*>(env.message.properties.message_id.bytes),
            env.message.properties.message_id.len);
      }
      msg.redelivered = env.redelivered;
      msg.failed_runs = FailedRuns(env.message.properties);
      uint64_t tag = env.delivery_tag;
      amqp_destroy_envelope(&env);
      Disposition d = Disposition::kRequeue;
      if (!RunHandler(handler, msg, d) || !Settle(tag, msg, d)) {
        // The broker redelivers the message: handlers are idempotent.
        channel_.reset();
      }
      continue;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_TIMEOUT) {
      continue;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      amqp_frame_t frame;
      if (amqp_simple_wait_frame(conn, &frame) == AMQP_STATUS_OK &&
          frame.frame_type == AMQP_FRAME_METHOD &&
          frame.payload.method.id != AMQP_CHANNEL_CLOSE_METHOD &&
          frame.payload.method.id != AMQP_CONNECTION_CLOSE_METHOD) {
        continue;
      }
    }
    SP_LOG(Warning) << ReplyError(r, "Consumer of '" + queue_ +
                                         "' lost the connection")
                    << "; reconnecting";
    channel_.reset();
    stop.WaitFor(options_.reconnect_interval);
  }
  channel_.reset();
}

}  // namespace shareplane
