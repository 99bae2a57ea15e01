// The AMQP bus against a real RabbitMQ.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/amqp/amqp_bus.h"
#include "tests/support/test_support.h"

using namespace shareplane;
using shareplane::testing::TestServices;
using shareplane::testing::UniqueName;
using shareplane::testing::WaitUntil;

namespace {

// Client options for the fixture's broker, or the one at `url`.
AmqpOptions Broker(const std::string& url = TestServices::Get().amqp_url) {
  AmqpOptions options;
  options.url = url;
  return options;
}

// Consumes `queue` on a thread, recording bodies; acks everything.
struct Collector {
  std::mutex mu;
  std::vector<std::string> bodies;
  StopSignal stop;
  std::thread thread;
  Collector(const std::string& queue, Disposition first = Disposition::kAck) {
    thread = std::thread([this, queue, first] {
      AmqpConsumer consumer(Broker(), queue);
      bool first_seen = false;
      consumer.Run(
          [&](const AmqpMessage& m) {
            if (!first_seen && first != Disposition::kAck) {
              first_seen = true;
              return first;
            }
            std::lock_guard<std::mutex> lock(mu);
            bodies.push_back(m.body);
            return Disposition::kAck;
          },
          stop);
    });
  }
  ~Collector() {
    stop.Stop();
    thread.join();
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return bodies.size();
  }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu);
    return bodies;
  }
};

}  // namespace

TEST_CASE("published tasks are consumed once, in order", "[integration]") {
  const std::string queue = UniqueName("test.bus");
  AmqpPublisher publisher(Broker());
  for (int i = 0; i < 20; ++i) {
    REQUIRE(publisher.Publish(queue, "m" + std::to_string(i), "id").ok());
  }
  Collector c(queue);
  REQUIRE(WaitUntil([&] { return c.count() >= 20; }));
  // A message delivered again comes ahead of one published now (the queue
  // is FIFO and a requeued message keeps its place): once that one has
  // arrived, no copy is on its way.
  REQUIRE(publisher.Publish(queue, "last", "id").ok());
  REQUIRE(WaitUntil([&] {
    const std::vector<std::string> got = c.Bodies();
    return !got.empty() && got.back() == "last";
  }));
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) want.push_back("m" + std::to_string(i));
  want.push_back("last");
  CHECK(c.Bodies() == want);
}

TEST_CASE("a requeued message is delivered again", "[integration]") {
  const std::string queue = UniqueName("test.bus");
  AmqpPublisher publisher(Broker());
  REQUIRE(publisher.Publish(queue, "again", "id").ok());
  Collector c(queue, Disposition::kRequeue);
  REQUIRE(WaitUntil([&] { return c.count() == 1; }));
  CHECK(c.Bodies()[0] == "again");
}

TEST_CASE("publishing to an unreachable broker is Unavailable",
          "[integration]") {
  AmqpPublisher publisher(Broker("amqp://guest:guest@127.0.0.1:1"));
  CHECK(publisher.Publish("q", "x", "id").code() ==
        absl::StatusCode::kUnavailable);
}

TEST_CASE("a message is not lost when the broker restarts before consume",
          "[integration][serial]") {
  const std::string queue = UniqueName("test.restart");
  AmqpPublisher publisher(Broker());
  REQUIRE(publisher.Publish(queue, "survivor", "id-1").ok());
  // A consumer connected before the restart must reconnect by itself.
  const std::string live_queue = UniqueName("test.restart-live");
  Collector live(live_queue);
  REQUIRE(publisher.Publish(live_queue, "before", "id-2").ok());
  REQUIRE(WaitUntil([&] { return live.count() == 1; }));

  TestServices::Get().RestartRabbitMq();

  // The publisher reconnects on the next call after one Unavailable at most.
  absl::Status s = publisher.Publish(live_queue, "after", "id-3");
  if (!s.ok()) s = publisher.Publish(live_queue, "after", "id-3");
  REQUIRE(s.ok());
  Collector c(queue);
  REQUIRE(WaitUntil([&] { return c.count() == 1; }));
  CHECK(c.Bodies()[0] == "survivor");
  REQUIRE(
      WaitUntil([&] { return live.count() == 2; }, std::chrono::seconds(30)));
  CHECK(live.Bodies()[1] == "after");
}

TEST_CASE("a task that keeps failing is dead-lettered after its bound",
          "[integration]") {
  const std::string queue = UniqueName("test.bus.poison");
  AmqpPublisher publisher(Broker());
  REQUIRE(publisher.Publish(queue, "poison", "p1").ok());
  REQUIRE(publisher.Publish(queue, "busy", "b1").ok());
  AmqpOptions options = Broker();
  options.max_deliveries = 3;
  options.requeue_delay = std::chrono::milliseconds(50);
  std::mutex mu;
  std::map<std::string, int> runs;
  std::vector<int> seen_failures;
  StopSignal stop;
  std::thread consumer_thread([&] {
    AmqpConsumer consumer(options, queue);
    consumer.Run(
        [&](const AmqpMessage& m) {
          std::lock_guard<std::mutex> lock(mu);
          const int n = ++runs[m.body];
          if (m.body == "poison") {
            seen_failures.push_back(m.failed_runs);
            return Disposition::kRequeue;
          }
          // Deferred five times (not failures), then done.
          return n <= 5 ? Disposition::kDefer : Disposition::kAck;
        },
        stop);
  });
  // The poison message lands in <queue>.dead after three failed runs.
  std::vector<std::string> dead;
  StopSignal dead_stop;
  std::thread dead_thread([&] {
    AmqpConsumer consumer(Broker(), queue + ".dead");
    consumer.Run(
        [&](const AmqpMessage& m) {
          std::lock_guard<std::mutex> lock(mu);
          dead.push_back(m.body);
          return Disposition::kAck;
        },
        dead_stop);
  });
  CHECK(WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return dead.size() == 1 && runs["busy"] == 6;
  }));
  stop.Stop();
  dead_stop.Stop();
  consumer_thread.join();
  dead_thread.join();
  CHECK(runs["poison"] == 3);
  CHECK(seen_failures == std::vector<int>{0, 1, 2});
  REQUIRE(dead.size() == 1);
  CHECK(dead[0] == "poison");
}

TEST_CASE("a handler longer than the heartbeat keeps its connection",
          "[integration]") {
  const std::string queue = UniqueName("test.bus.long");
  AmqpPublisher publisher(Broker());
  REQUIRE(publisher.Publish(queue, "long", "l1").ok());
  AmqpOptions options = Broker();
  options.heartbeat_seconds = 1;
  std::atomic<int> runs{0};
  std::atomic<bool> redelivered{false};
  StopSignal stop;
  std::thread consumer_thread([&] {
    AmqpConsumer consumer(options, queue);
    consumer.Run(
        [&](const AmqpMessage& m) {
          ++runs;
          if (m.redelivered) redelivered = true;
          // Kept sleep: the handler itself is what is slow. Four heartbeat
          // intervals: the broker drops a connection after two missed
          // heartbeats unless the consumer keeps sending them.
          std::this_thread::sleep_for(std::chrono::seconds(4));
          return Disposition::kAck;
        },
        stop);
  });
  CHECK(WaitUntil([&] { return runs.load() >= 1; }));
  stop.Stop();
  consumer_thread.join();  // after the handler returned and its ack
  // Once acked, the message is gone: a second consumer gets only a message
  // published now (the queue is FIFO, and a message the broker took back
  // from a dropped connection keeps its place, ahead).
  REQUIRE(publisher.Publish(queue, "after", "l2").ok());
  {
    Collector check(queue);
    CHECK(WaitUntil([&] { return check.count() >= 1; }));
    CHECK(check.Bodies() == std::vector<std::string>{"after"});
  }
  CHECK(runs.load() == 1);
  CHECK(!redelivered.load());
}
