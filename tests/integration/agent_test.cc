// The compute agent as a process: registration with the conductor and its
// gRPC facts, on libvirt's test driver.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "common/store.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;

TEST_CASE("the compute agent registers its host and serves its facts",
          "[integration][e2e]") {
  Stack stack;
  stack.StartConductor();
  stack.StartCompute();
  INFO(stack.Logs());

  std::optional<ComputeHost> host;
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                host = GetComputeHost(w, "hv1");
                return absl::OkStatus();
              })
              .ok());
  REQUIRE(host.has_value());
  CHECK(host->storage_ip == "192.0.2.10");
  CHECK(host->agent_endpoint == stack.compute_endpoint());
  CHECK(host->hypervisor_type == "TEST");
  CHECK(host->libvirt_version == "9.0.0");
  CHECK(std::find(host->traits.begin(), host->traits.end(),
                  "COMPUTE_STORAGE_VIRTIO_FS") != host->traits.end());

  auto stub = agent::v1::ComputeAgent::NewStub(grpc::CreateChannel(
      stack.compute_endpoint(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  agent::v1::HostFacts facts;
  grpc::Status s = stub->GetHostFacts(&ctx, {}, &facts);
  REQUIRE(s.ok());
  CHECK(facts.hostname() == "hv1");
  CHECK(facts.traits_size() == static_cast<int>(host->traits.size()));

  // Heartbeats keep the host fresh (interval 1 s in the test config).
  REQUIRE(WaitUntil([&] {
    std::optional<ComputeHost> h;
    (void)stack.db().Transact([&](pqxx::work& w) {
      h = GetComputeHost(w, "hv1");
      return absl::OkStatus();
    });
    return h && h->heartbeat_age_seconds >= 0 && h->heartbeat_age_seconds < 2;
  }));
  // A conductor that lost the host gets it registered again.
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec("DELETE FROM compute_hosts");
                return absl::OkStatus();
              })
              .ok());
  REQUIRE(WaitUntil([&] {
    std::optional<ComputeHost> h;
    (void)stack.db().Transact([&](pqxx::work& w) {
      h = GetComputeHost(w, "hv1");
      return absl::OkStatus();
    });
    return h.has_value();
  }));
}
