// The compute agent as a process: registration with the conductor and its
// gRPC facts, on libvirt's test driver.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "common/core/ids.h"
#include "common/pg/store.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "tests/support/pki.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;

TEST_CASE("the compute agent registers its host and serves its facts",
          "[integration][e2e]") {
  Stack stack;
  stack.StartConductor();
  stack.StartCompute();

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

  auto stub = agent::v1::ComputeAgent::NewStub(stack.AgentChannel());
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

namespace {

// A channel as `client` (no certificate when empty) to a server that must
// name `server`.
std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint,
                                       const std::string& client,
                                       const std::string& server) {
  return TestPki::Get().Channel(endpoint, client, server);
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  return c;
}

bool GetComputeHostOrNull(Stack& stack, const std::string& name) {
  std::optional<ComputeHost> h;
  (void)stack.db().Transact([&](pqxx::work& w) {
    h = GetComputeHost(w, name);
    return absl::OkStatus();
  });
  return h.has_value();
}

}  // namespace

TEST_CASE("the agent plane is mutual TLS and each side checks the other's name",
          "[integration][e2e]") {
  Stack stack;
  stack.StartConductor();
  stack.StartCompute();  // registered over mutual TLS, as hv1
  auto facts = [&](std::shared_ptr<grpc::Channel> channel) {
    agent::v1::HostFacts reply;
    return agent::v1::ComputeAgent::NewStub(channel)->GetHostFacts(Ctx().get(),
                                                                   {}, &reply);
  };
  const std::string agent = stack.compute_endpoint();

  SECTION("the agent takes calls from the conductor's certificate only") {
    CHECK(facts(Channel(agent, kConductorName, "hv1")).ok());
    CHECK_FALSE(
        facts(grpc::CreateChannel(agent, grpc::InsecureChannelCredentials()))
            .ok());
    CHECK_FALSE(facts(Channel(agent, "", "hv1")).ok());  // no client cert
    // Another host's certificate, signed by the same CA, steers nothing:
    // neither a read nor a privileged step.
    grpc::Status s = facts(Channel(agent, "hv2", "hv1"));
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    agent::v1::EnsureMountRequest mount;
    mount.set_server_uuid(NewUuid());
    agent::v1::EnsureMountReply mounted;
    CHECK(agent::v1::ComputeAgent::NewStub(Channel(agent, "hv2", "hv1"))
              ->EnsureMount(Ctx().get(), mount, &mounted)
              .error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // And the conductor's side checks the agent's name: the agent at this
    // address is hv1, so a call meant for hv2 does not reach it.
    CHECK_FALSE(facts(Channel(agent, kConductorName, "hv2")).ok());
  }

  SECTION("the conductor takes a host's registration from that host only") {
    auto registry = [&](const std::string& client) {
      return agent::v1::AgentRegistry::NewStub(
          Channel(stack.conductor_endpoint(), client, kConductorName));
    };
    agent::v1::RegisterRequest req;
    req.mutable_facts()->set_hostname("hv1");
    req.mutable_facts()->set_storage_ip("203.0.113.66");
    req.mutable_facts()->set_agent_endpoint("127.0.0.1:1");
    agent::v1::RegisterReply reply;
    CHECK(registry("hv2")->Register(Ctx().get(), req, &reply).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
    CHECK_FALSE(agent::v1::AgentRegistry::NewStub(
                    grpc::CreateChannel(stack.conductor_endpoint(),
                                        grpc::InsecureChannelCredentials()))
                    ->Register(Ctx().get(), req, &reply)
                    .ok());
    CHECK_FALSE(registry("")->Register(Ctx().get(), req, &reply).ok());
    agent::v1::HeartbeatRequest beat;
    beat.set_hostname("hv1");
    agent::v1::HeartbeatReply beat_reply;
    CHECK(registry("hv2")
              ->Heartbeat(Ctx().get(), beat, &beat_reply)
              .error_code() == grpc::StatusCode::PERMISSION_DENIED);
    // No host takes the conductor's name, whose certificate agents obey.
    req.mutable_facts()->set_hostname(kConductorName);
    CHECK(registry(kConductorName)
              ->Register(Ctx().get(), req, &reply)
              .error_code() == grpc::StatusCode::PERMISSION_DENIED);
    // hv1 is as it registered itself.
    std::optional<ComputeHost> h;
    REQUIRE(stack.db()
                .Transact([&](pqxx::work& w) {
                  h = GetComputeHost(w, "hv1");
                  return absl::OkStatus();
                })
                .ok());
    REQUIRE(h.has_value());
    CHECK(h->storage_ip == "192.0.2.10");
    CHECK(h->agent_endpoint == agent);
    CHECK_FALSE(GetComputeHostOrNull(stack, kConductorName));
    CHECK(absl::StrContains(stack.ConductorLog(),
                            "Register for host hv1 refused"));
  }
}

TEST_CASE("a daemon of the agent plane without a certificate does not start",
          "[integration][e2e]") {
  Stack stack;
  std::vector<std::string> argv = stack.ConductorArgv();
  argv.push_back("--compute.grpc_tls_cert_file=");
  CommandResult r = RunCommand("conductor", argv, {}, std::chrono::seconds(30));
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.out + r.err,
                          "needs a certificate for the agent plane"));

  // Plaintext only when asked for, with a warning at start.
  Stack plain("[compute]\ngrpc_insecure = true\n");
  plain.StartConductor();
  plain.StartCompute();
  CHECK(absl::StrContains(plain.ConductorLog(), "grpc_insecure = true"));
  CHECK(absl::StrContains(plain.Logs(),
                          "the compute agent speaks plaintext gRPC"));
}

TEST_CASE("every agent RPC works step by step on libvirt's test driver",
          "[integration][e2e]") {
  Stack stack;
  stack.StartConductor();
  stack.StartCompute();
  auto stub = agent::v1::ComputeAgent::NewStub(stack.AgentChannel());
  auto ctx = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return c;
  };
  const std::string uuid = "0e7c4b52-93a1-4a25-9f0e-6f1c1f0d2a11";
  agent::v1::ServerSpec spec;
  spec.set_server_uuid(uuid);
  spec.set_name("steps");
  spec.set_vcpus(1);
  spec.set_memory_mb(128);
  agent::v1::Filesystem* fs = spec.add_filesystems();
  fs->set_share_id("s1");
  fs->set_export_location("192.0.2.1:/exports/s1");
  fs->set_tag("data");
  fs->set_share_proto("NFS");
  agent::v1::ServerRequest server;
  server.set_server_uuid(uuid);
  agent::v1::PowerReply reply;
  auto state = [&] {
    REQUIRE(stub->GetServerState(ctx().get(), server, &reply).ok());
    return reply.domain_state();
  };
  CHECK(state() == "absent");

  // Define needs the mounts first.
  agent::v1::DefineServerRequest define;
  *define.mutable_spec() = spec;
  CHECK(stub->DefineServer(ctx().get(), define, &reply).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  agent::v1::EnsureMountRequest mount;
  mount.set_server_uuid(uuid);
  *mount.mutable_filesystem() = *fs;
  agent::v1::EnsureMountReply mounted, again;
  REQUIRE(stub->EnsureMount(ctx().get(), mount, &mounted).ok());
  REQUIRE(stub->EnsureMount(ctx().get(), mount, &again).ok());
  CHECK(mounted.mount_point() == again.mount_point());
  CHECK(stack.MountPoints().size() == 1);
  REQUIRE(stub->DefineServer(ctx().get(), define, &reply).ok());
  CHECK(reply.domain_state() == "shutoff");
  REQUIRE(reply.mount_points_size() == 1);
  CHECK(reply.mount_points(0) == mounted.mount_point());

  // Start, stop: each twice.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(stub->StartServer(ctx().get(), server, &reply).ok());
    CHECK(reply.domain_state() == "running");
  }
  for (int i = 0; i < 2; ++i) {
    REQUIRE(stub->StopServer(ctx().get(), server, &reply).ok());
    CHECK(reply.domain_state() == "shutoff");
  }
  agent::v1::ServerRequest other;
  other.set_server_uuid("7d1f6a2e-0000-4000-8000-000000000000");
  CHECK(stub->StartServer(ctx().get(), other, &reply).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  // Release the mounts, undefine: each twice.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(stub->ReleaseMounts(ctx().get(), server, &reply).ok());
    CHECK(reply.mount_points_size() == 0);
  }
  CHECK(stack.MountPoints().empty());
  for (int i = 0; i < 2; ++i) {
    REQUIRE(stub->UndefineServer(ctx().get(), server, &reply).ok());
    CHECK(reply.domain_state() == "absent");
  }
  // An export that would inject options is refused with the reason.
  fs->set_export_location("-oremount:/x");
  *mount.mutable_filesystem() = *fs;
  grpc::Status refused = stub->EnsureMount(ctx().get(), mount, &mounted);
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message().find("Refusing export location") !=
        std::string::npos);
}

TEST_CASE("a host whose stops outlast the conductor's agent_timeout is refused",
          "[integration][e2e]") {
  // shutdown_timeout 60 + 5 s reserve against a conductor that waits 30 s:
  // every slow stop would be recorded failed while the host still did it.
  Stack stack(
      "[conductor]\nagent_timeout = 30\n[compute]\nshutdown_timeout = 60\n");
  stack.StartConductor();
  CHECK_THROWS(stack.StartCompute());
  const std::string logs = stack.Logs();
  CHECK_THAT(logs, Catch::Contains("The conductor refused this host: Host hv1 "
                                   "may take up to 65 s to stop a server"));
  CHECK_THAT(logs, Catch::Contains("[conductor] agent_timeout"));
  std::optional<ComputeHost> host;
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                host = GetComputeHost(w, "hv1");
                return absl::OkStatus();
              })
              .ok());
  CHECK_FALSE(host.has_value());
}
