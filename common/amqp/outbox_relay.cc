#include "common/amqp/outbox_relay.h"

#include "common/core/log.h"
#include "common/pg/store.h"

namespace shareplane {
namespace {

class Wakeup : public pqxx::notification_receiver {
 public:
  Wakeup(pqxx::connection_base& c) : notification_receiver(c, kOutboxChannel) {}
  void operator()(const std::string&, int) override {}
};

constexpr int kBatch = 100;

}  // namespace

OutboxRelay::OutboxRelay(Database& db, AmqpPublisher& publisher,
                         Duration poll_interval)
    : db_(db), publisher_(publisher), poll_interval_(poll_interval) {}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void OutboxRelay::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<int> OutboxRelay::Drain() {
  int total = 0;
  while (true) {
    int sent = 0;
    absl::Status publish_error;
    absl::Status s = db_.Transact([&](pqxx::work& w) -> absl::Status {
      std::vector<OutboxRow> rows = ClaimUnsentOutbox(w, kBatch);
      std::vector<int64_t> ids;
      for (const OutboxRow& row : rows) {
        ScopedRequestId log_id(row.request_id);
        publish_error = row.exchange.empty()
                            ? publisher_.Publish(row.routing_key, row.payload,
                                                 std::to_string(row.id))
                            : publisher_.PublishToExchange(
                                  row.exchange, row.routing_key, row.payload,
                                  std::to_string(row.id));
        if (!publish_error.ok()) break;  // the rest stays unsent
        ids.push_back(row.id);
      }
      // Commit what the broker confirmed, even when a later publish failed.
      MarkOutboxSent(w, ids);
      sent = ids.size();
      return absl::OkStatus();
    });
    if (s.ok()) s = publish_error;
    total += sent;
    if (!s.ok()) return s;
    if (sent < kBatch) return total;
  }
}

void OutboxRelay::Loop() {
  std::unique_ptr<pqxx::connection> listen;
  std::unique_ptr<Wakeup> wakeup;
  bool logged_error = false;
  TimePoint next_purge = RealClock::Get()->Now();
  while (!stop_.stopped()) {
    auto sent = Drain();
    if (!sent.ok()) {
      if (!logged_error) {
        SP_LOG(Warning) << "Outbox relay: " << sent.status().message()
                        << "; tasks wait in the outbox";
      }
      logged_error = true;
      stop_.WaitFor(poll_interval_);
      continue;
    }
    if (RealClock::Get()->Now() >= next_purge) {
      next_purge = RealClock::Get()->Now() + std::chrono::minutes(1);
      (void)db_.Transact([](pqxx::work& w) {
        PurgeSentOutbox(w);
        return absl::OkStatus();
      });
    }
    if (logged_error) SP_LOG(Info) << "Outbox relay recovered";
    logged_error = false;
    if (*sent > 0) SP_LOG(Debug) << "Outbox relay published " << *sent;
    try {
      if (!listen) {
        auto conn = db_.Connect();
        if (!conn.ok()) {
          stop_.WaitFor(poll_interval_);
          continue;
        }
        listen = std::move(*conn);
        wakeup = std::make_unique<Wakeup>(*listen);
      }
      // Short waits so Stop() is honoured promptly.
      const auto deadline = RealClock::Get()->Now() + poll_interval_;
      while (!stop_.stopped() && RealClock::Get()->Now() < deadline) {
        if (listen->await_notification(0, 100000) > 0) break;
      }
    } catch (const std::exception& e) {
      SP_LOG(Warning) << "Outbox relay lost its LISTEN connection: "
                      << e.what();
      wakeup.reset();
      listen.reset();
      stop_.WaitFor(poll_interval_);
    }
  }
}

}  // namespace shareplane
