// The compute agent as a process: registration with the conductor and its
// gRPC facts, on libvirt's test driver.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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

namespace {

// Runs openssl (argv, no shell) to completion; true when it wrote its
// output file (the last argument).
bool RunToEnd(const std::vector<std::string>& argv) {
  Process p("openssl", argv);
  WaitUntil([&] { return !p.running(); }, std::chrono::seconds(60));
  return std::filesystem::exists(argv.back());
}

}  // namespace

TEST_CASE("conductor and agents talk over mutual TLS when configured",
          "[integration][e2e]") {
  const std::string dir = "/tmp/" + UniqueName("sp-tls");
  std::filesystem::create_directories(dir);
  // A CA, and one certificate for 127.0.0.1 that both sides present.
  std::ofstream(dir + "/ext.cnf")
      << "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,"
         "clientAuth\n";
  REQUIRE(RunToEnd({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=shareplane-test-ca",
                    "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem"}));
  REQUIRE(RunToEnd({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=127.0.0.1", "-keyout", dir + "/host.key",
                    "-out", dir + "/host.csr"}));
  REQUIRE(RunToEnd({"/usr/bin/openssl", "x509", "-req", "-days", "1", "-in",
                    dir + "/host.csr", "-CA", dir + "/ca.pem", "-CAkey",
                    dir + "/ca.key", "-CAcreateserial", "-extfile",
                    dir + "/ext.cnf", "-out", dir + "/host.pem"}));
  Stack stack("[compute]\ngrpc_tls_cert_file = " + dir +
              "/host.pem\ngrpc_tls_key_file = " + dir +
              "/host.key\ngrpc_tls_ca_file = " + dir +
              "/ca.pem\ngrpc_tls_require_client_cert = true\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();  // registration went over mutual TLS
  stack.StartApi();
  INFO(stack.Logs());

  // The conductor drives the agent over TLS: a server starts with a share.
  const std::string server = stack.CreateServer("hv1");
  const std::string share = stack.CreateShare();
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + server + "/shares",
                   nlohmann::json{{"share", {{"share_id", share}}}}.dump())
              .status == 201);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + server + "/action",
                   R"({"os-start": null})")
              .status == 202);
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(server, share) == "active"; }));

  // Plaintext, or TLS without a client certificate, is refused.
  auto facts = [&](std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = agent::v1::ComputeAgent::NewStub(
        grpc::CreateChannel(stack.compute_endpoint(), creds));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(3));
    agent::v1::HostFacts reply;
    return stub->GetHostFacts(&ctx, {}, &reply).ok();
  };
  CHECK_FALSE(facts(grpc::InsecureChannelCredentials()));
  std::ifstream ca_in(dir + "/ca.pem");
  std::stringstream ca;
  ca << ca_in.rdbuf();
  grpc::SslCredentialsOptions server_only;
  server_only.pem_root_certs = ca.str();
  CHECK_FALSE(facts(grpc::SslCredentials(server_only)));
  std::filesystem::remove_all(dir);
}

TEST_CASE("every agent RPC works step by step on libvirt's test driver",
          "[integration][e2e]") {
  Stack stack;
  stack.StartConductor();
  stack.StartCompute();
  INFO(stack.Logs());
  auto stub = agent::v1::ComputeAgent::NewStub(grpc::CreateChannel(
      stack.compute_endpoint(), grpc::InsecureChannelCredentials()));
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
