// The conductor's host audit (conductor/host_audit.h) against real agents
// on libvirt's test driver, whose domains live in the agent process: a
// SIGKILL of the agent is a host that lost every guest.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "common/core/ids.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

bool StatusIs(Stack& stack, const std::string& id, const std::string& status) {
  return stack.ServerStatus(id) == status;
}

std::string CreateActiveServer(Stack& stack) { return stack.BootServer(); }

void Action(Stack& stack, const std::string& id, const std::string& body) {
  REQUIRE(stack.Api("POST", "/v2.1/servers/" + id + "/action", body).status ==
          202);
}

}  // namespace

TEST_CASE("a server whose host lost its domain is recorded SHUTOFF",
          "[integration][e2e]") {
  Stack stack("[conductor]\nhost_audit_interval = 1\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string id = CreateActiveServer(stack);
  Action(stack, id, R"({"os-stop": null})");
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "SHUTOFF"); }));
  const std::string share = stack.CreateShare();
  stack.AttachShare(id, share);
  Action(stack, id, R"({"os-start": null})");
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); }));
  REQUIRE(stack.ShareStatus(id, share) == "active");

  // The host goes down hard and comes back without its guests.
  stack.KillCompute();
  stack.StartCompute();
  REQUIRE(stack.HostState().domains_size() == 0);
  // The audit notices: the server is SHUTOFF, its share inactive, and its
  // actions say why; a start brings it all back.
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "SHUTOFF"); }));
  CHECK(stack.ShareStatus(id, share) == "inactive");
  json actions = json::parse(
      stack.Api("GET", "/v2.1/servers/" + id + "/os-instance-actions").body);
  REQUIRE(actions["instanceActions"].size() >= 1);
  CHECK(actions["instanceActions"][0]["action"] == "stop");
  Action(stack, id, R"({"os-start": null})");
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); }));
  CHECK(stack.ShareStatus(id, share) == "active");
  agent::v1::HostState host = stack.HostState();
  REQUIRE(host.domains_size() == 1);
  CHECK(host.domains(0).domain_state() == "running");
  REQUIRE(host.mounts_size() == 1);
  CHECK(host.mounts(0).server_uuids(0) == id);
}

TEST_CASE("the host audit removes a domain the database does not know",
          "[integration][e2e]") {
  Stack stack("[conductor]\nhost_audit_interval = 1\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string known = CreateActiveServer(stack);
  // A domain and a mount left by a server the database has no record of
  // (a crash between two steps of a delete).
  auto stub = agent::v1::ComputeAgent::NewStub(stack.AgentChannel());
  const std::string stray = NewUuid();
  agent::v1::PowerOnRequest req;
  req.mutable_spec()->set_server_uuid(stray);
  req.mutable_spec()->set_vcpus(1);
  req.mutable_spec()->set_memory_mb(128);
  auto* fs = req.mutable_spec()->add_filesystems();
  fs->set_share_id("s1");
  fs->set_export_location("192.0.2.1:/shares/stray");
  fs->set_tag("stray");
  fs->set_share_proto("NFS");
  grpc::ClientContext ctx;
  agent::v1::PowerReply reply;
  REQUIRE(stub->PowerOn(&ctx, req, &reply).ok());
  REQUIRE(stack.HostState().domains_size() == 2);
  REQUIRE(WaitUntil([&] {
    agent::v1::HostState h = stack.HostState();
    return h.domains_size() == 1 && h.mounts_size() == 0;
  }));
  agent::v1::HostState h = stack.HostState();
  CHECK(h.domains(0).server_uuid() == known);
  CHECK(h.domains(0).domain_state() == "running");
  // The known server was left alone.
  CHECK(StatusIs(stack, known, "ACTIVE"));
}

TEST_CASE("the host audit stops a domain that runs for a SHUTOFF server",
          "[integration][e2e]") {
  Stack stack("[conductor]\nhost_audit_interval = 1\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string id = CreateActiveServer(stack);
  Action(stack, id, R"({"os-stop": null})");
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "SHUTOFF"); }));
  // A start the conductor gave up on, run by the agent after all.
  auto stub = agent::v1::ComputeAgent::NewStub(stack.AgentChannel());
  grpc::ClientContext ctx;
  agent::v1::ServerRequest req;
  req.set_server_uuid(id);
  agent::v1::PowerReply reply;
  REQUIRE(stub->StartServer(&ctx, req, &reply).ok());
  REQUIRE(reply.domain_state() == "running");
  REQUIRE(WaitUntil([&] {
    agent::v1::HostState h = stack.HostState();
    return h.domains_size() == 1 && h.domains(0).domain_state() == "shutoff";
  }));
  CHECK(StatusIs(stack, id, "SHUTOFF"));
}

TEST_CASE(
    "a delete that cannot reach the agent leaves an ERROR server as it is, "
    "and the audit and a second delete finish it",
    "[integration][e2e]") {
  // A stall longer than agent_timeout (the stop budget, shutdown_timeout
  // + 5 s, must stay below it).
  Stack stack(
      "[conductor]\nagent_timeout = 6\nagent_retry_timeout = 1\n"
      "host_audit_interval = 1\n[compute]\nshutdown_timeout = 0\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string id = stack.BootServer(/*stopped=*/true);
  const std::string share = stack.CreateShare();
  stack.AttachShare(id, share);
  Action(stack, id, R"({"os-start": null})");
  REQUIRE(WaitUntil([&] { return StatusIs(stack, id, "ACTIVE"); }));
  REQUIRE(stack.ShareStatus(id, share) == "active");

  // The agent stalls through the whole delete: the server is ERROR, and
  // its share is still what it is, active in the domain that still runs.
  stack.SuspendCompute("hv1");
  REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + id).status == 204);
  const bool failed = WaitUntil([&] { return StatusIs(stack, id, "ERROR"); },
                                std::chrono::seconds(60));
  stack.ResumeCompute("hv1");
  REQUIRE(failed);
  CHECK(absl::StrContains(stack.ConductorLog(), "Failed to delete server " +
                                                    id +
                                                    ": Failed to stop server " +
                                                    id + " for deletion"));
  CHECK(stack.ShareStatus(id, share) == "active");
  agent::v1::HostState host = stack.HostState();
  REQUIRE(host.domains_size() == 1);
  CHECK(host.domains(0).domain_state() == "running");
  CHECK(host.mounts_size() == 1);
  json actions = json::parse(
      stack.Api("GET", "/v2.1/servers/" + id + "/os-instance-actions").body);
  REQUIRE(actions["instanceActions"].size() >= 1);
  CHECK(actions["instanceActions"][0]["action"] == "delete");

  // The host loses its guests: the audit records the share inactive (the
  // server stays ERROR, as Nova leaves it).
  stack.KillCompute();
  stack.StartCompute();
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(id, share) == "inactive"; }));
  CHECK(StatusIs(stack, id, "ERROR"));

  // A second delete finishes: nothing is left in Manila or on the host.
  REQUIRE(stack.Api("DELETE", "/v2.1/servers/" + id).status == 204);
  REQUIRE(WaitUntil(
      [&] { return stack.Api("GET", "/v2.1/servers/" + id).status == 404; }));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  CHECK(stack.HostState().domains_size() == 0);
  CHECK(stack.HostState().mounts_size() == 0);
}
