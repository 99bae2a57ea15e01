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

// Consumes `queue` on a thread, recording bodies; acks everything.
struct Collector {
  std::mutex mu;
  std::vector<std::string> bodies;
  StopSignal stop;
  std::thread thread;
  Collector(const std::string& queue, Disposition first = Disposition::kAck) {
    thread = std::thread([this, queue, first] {
      AmqpConsumer consumer({TestServices::Get().amqp_url}, queue);
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
};

}  // namespace

TEST_CASE("published tasks are consumed once, in order", "[integration]") {
  const std::string queue = UniqueName("test.bus");
  AmqpPublisher publisher({TestServices::Get().amqp_url});
  for (int i = 0; i < 20; ++i) {
    REQUIRE(publisher.Publish(queue, "m" + std::to_string(i), "id").ok());
  }
  Collector c(queue);
  REQUIRE(WaitUntil([&] { return c.count() == 20; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(c.count() == 20);
  CHECK(c.bodies.front() == "m0");
  CHECK(c.bodies.back() == "m19");
}

TEST_CASE("a requeued message is delivered again", "[integration]") {
  const std::string queue = UniqueName("test.bus");
  AmqpPublisher publisher({TestServices::Get().amqp_url});
  REQUIRE(publisher.Publish(queue, "again", "id").ok());
  Collector c(queue, Disposition::kRequeue);
  REQUIRE(WaitUntil([&] { return c.count() == 1; }));
  CHECK(c.bodies[0] == "again");
}

TEST_CASE("publishing to an unreachable broker is Unavailable",
          "[integration]") {
  AmqpPublisher publisher({"amqp://guest:guest@127.0.0.1:1"});
  CHECK(publisher.Publish("q", "x", "id").code() ==
        absl::StatusCode::kUnavailable);
}

TEST_CASE("a message is not lost when the broker restarts before consume",
          "[integration][serial]") {
  const std::string queue = UniqueName("test.restart");
  AmqpPublisher publisher({TestServices::Get().amqp_url});
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
  CHECK(c.bodies[0] == "survivor");
  REQUIRE(
      WaitUntil([&] { return live.count() == 2; }, std::chrono::seconds(30)));
  CHECK(live.bodies[1] == "after");
}

TEST_CASE("a task that keeps failing is dead-lettered after its bound",
          "[integration]") {
  const std::string queue = UniqueName("test.bus.poison");
  AmqpPublisher publisher({TestServices::Get().amqp_url});
  REQUIRE(publisher.Publish(queue, "poison", "p1").ok());
  REQUIRE(publisher.Publish(queue, "busy", "b1").ok());
  AmqpOptions options{TestServices::Get().amqp_url};
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
    AmqpConsumer consumer({TestServices::Get().amqp_url}, queue + ".dead");
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
  AmqpPublisher publisher({TestServices::Get().amqp_url});
  REQUIRE(publisher.Publish(queue, "long", "l1").ok());
  AmqpOptions options{TestServices::Get().amqp_url};
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
          // Four heartbeat intervals: the broker drops a connection after
          // two missed heartbeats unless the consumer keeps sending them.
          std::this_thread::sleep_for(std::chrono::seconds(4));
          return Disposition::kAck;
        },
        stop);
  });
  REQUIRE(WaitUntil([&] { return runs.load() >= 1; }));
  // Once acked, the message is gone: a second consumer gets nothing.
  std::atomic<int> later{0};
  StopSignal later_stop;
  CHECK(WaitUntil([&] { return runs.load() == 1 && !redelivered.load(); }));
  stop.Stop();
  consumer_thread.join();
  std::thread check([&] {
    AmqpConsumer consumer({TestServices::Get().amqp_url}, queue);
    consumer.Run(
        [&](const AmqpMessage&) {
          ++later;
          return Disposition::kAck;
        },
        later_stop);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  later_stop.Stop();
  check.join();
  CHECK(runs.load() == 1);
  CHECK(later.load() == 0);
  CHECK(!redelivered.load());
}
