// The AMQP bus against a real RabbitMQ.
#include <catch2/catch.hpp>
#include <thread>

#include "common/amqp_bus.h"
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
