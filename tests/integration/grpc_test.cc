// The public gRPC API through a real channel: the share cases of the REST
// tests, with the same messages and canonical codes.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "shareplane/api/v1/compute.grpc.pb.h"
#include "tests/support/stack.h"

using namespace shareplane::testing;
namespace apipb = shareplane::api::v1;

namespace {

struct Client {
  std::unique_ptr<apipb::Compute::Stub> stub;
  explicit Client(const std::string& endpoint)
      : stub(apipb::Compute::NewStub(grpc::CreateChannel(
            endpoint, grpc::InsecureChannelCredentials()))) {}
  // A context carrying `token`, with a deadline.
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("x-auth-token", token);
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
    return ctx;
  }
};

}  // namespace

TEST_CASE(
    "the gRPC API attaches, lists, shows and detaches shares with "
    "REST's checks",
    "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string running = stack.CreateServer("hv1", "active");
  const std::string share = stack.CreateShare();
  Client c(stack.grpc_endpoint());

  apipb::AttachShareRequest attach;
  attach.set_server_id(server);
  attach.set_share_id(share);
  attach.set_tag("data");
  apipb::ShareAttachment out;
  grpc::Status s = c.stub->AttachShare(c.Ctx("alice:demo").get(), attach, &out);
  REQUIRE(s.ok());
  CHECK(out.status() == "attaching");
  CHECK(out.tag() == "data");
  CHECK(out.uuid().empty());  // not an admin

  // Same share again: ALREADY_EXISTS with REST's message.
  s = c.stub->AttachShare(c.Ctx("alice:demo").get(), attach, &out);
  CHECK(s.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(s.error_message() == "Share '" + share +
                                 "' or tag 'data' already "
                                 "associated to this server.");

  REQUIRE(WaitUntil([&] {
    apipb::GetServerShareRequest get;
    get.set_server_id(server);
    get.set_share_id(share);
    apipb::ShareAttachment a;
    return c.stub->GetServerShare(c.Ctx("alice:demo").get(), get, &a).ok() &&
           a.status() == "inactive";
  }));
  apipb::GetServerShareRequest get;
  get.set_server_id(server);
  get.set_share_id(share);
  REQUIRE(c.stub->GetServerShare(c.Ctx("admin:demo").get(), get, &out).ok());
  CHECK(out.export_location() == "127.0.0.1:/shares/share-" + share);
  CHECK_FALSE(out.uuid().empty());

  apipb::ListServerSharesRequest list;
  list.set_server_id(server);
  apipb::ListServerSharesResponse listed;
  REQUIRE(
      c.stub->ListServerShares(c.Ctx("alice:demo").get(), list, &listed).ok());
  REQUIRE(listed.shares_size() == 1);
  CHECK(listed.shares(0).share_id() == share);
  CHECK(listed.shares(0).access_level() == "rw");

  // A read-only attachment (our extension; REST's "access_level").
  const std::string ro_share = stack.CreateShare();
  apipb::AttachShareRequest ro = attach;
  ro.set_share_id(ro_share);
  ro.set_tag("ro");
  ro.set_access_level("ro");
  REQUIRE(c.stub->AttachShare(c.Ctx("alice:demo").get(), ro, &out).ok());
  CHECK(out.access_level() == "ro");
  ro.set_share_id(stack.CreateShare());
  ro.set_tag("rx");
  ro.set_access_level("rx");
  s = c.stub->AttachShare(c.Ctx("alice:demo").get(), ro, &out);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("'rx' is not one of ['rw', 'ro']") !=
        std::string::npos);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, ro_share) == "inactive"; }));
  apipb::DetachShareRequest ro_detach;
  ro_detach.set_server_id(server);
  ro_detach.set_share_id(ro_share);
  apipb::DetachShareResponse ro_none;
  REQUIRE(
      c.stub->DetachShare(c.Ctx("alice:demo").get(), ro_detach, &ro_none).ok());
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(server, ro_share).empty(); }));

  struct Case {
    std::string name, server, share, token;
    grpc::StatusCode code;
    std::string message;
  };
  const std::string unknown = "11111111-2222-3333-4444-555555555555";
  std::vector<Case> cases = {
      {"bad share id", server, "nope", "alice:demo",
       grpc::StatusCode::INVALID_ARGUMENT, "is not a 'uuid'"},
      {"unknown server", unknown, share, "alice:demo",
       grpc::StatusCode::NOT_FOUND, "Instance " + unknown},
      {"other project", server, share, "eve:other", grpc::StatusCode::NOT_FOUND,
       "could not be found"},
      {"running server", running, share, "alice:demo",
       grpc::StatusCode::FAILED_PRECONDITION, "while it is in vm_state active"},
      {"unknown share", server, unknown, "alice:demo",
       grpc::StatusCode::NOT_FOUND, "Share " + unknown},
      {"no token", server, share, "", grpc::StatusCode::UNAUTHENTICATED,
       "Authentication required"},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    apipb::AttachShareRequest req;
    req.set_server_id(k.server);
    req.set_share_id(k.share);
    grpc::ClientContext ctx;
    if (!k.token.empty()) ctx.AddMetadata("x-auth-token", k.token);
    grpc::Status st = c.stub->AttachShare(&ctx, req, &out);
    CHECK(st.error_code() == k.code);
    CHECK(st.error_message().find(k.message) != std::string::npos);
  }

  apipb::DetachShareRequest detach;
  detach.set_server_id(server);
  detach.set_share_id(share);
  apipb::DetachShareResponse none;
  REQUIRE(c.stub->DetachShare(c.Ctx("alice:demo").get(), detach, &none).ok());
  REQUIRE(WaitUntil([&] {
    apipb::ListServerSharesResponse l;
    return c.stub->ListServerShares(c.Ctx("alice:demo").get(), list, &l).ok() &&
           l.shares_size() == 0;
  }));
}

TEST_CASE("the gRPC API shows and lists servers", "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const std::string server = stack.CreateServer();
  Client c(stack.grpc_endpoint());
  apipb::GetServerRequest get;
  get.set_server_id(server);
  apipb::Server out;
  REQUIRE(c.stub->GetServer(c.Ctx("alice:demo").get(), get, &out).ok());
  CHECK(out.status() == "SHUTOFF");
  CHECK(out.host().empty());
  REQUIRE(c.stub->GetServer(c.Ctx("admin:demo").get(), get, &out).ok());
  CHECK(out.host() == "hv1");
  apipb::ListServersResponse list;
  REQUIRE(c.stub->ListServers(c.Ctx("alice:demo").get(), {}, &list).ok());
  CHECK(list.servers_size() == 1);
  apipb::ListServersResponse other;
  REQUIRE(c.stub->ListServers(c.Ctx("eve:other").get(), {}, &other).ok());
  CHECK(other.servers_size() == 0);
  apipb::ServerActionRequest start;
  start.set_server_id(server);
  apipb::Empty empty;
  grpc::Status s = c.stub->StopServer(c.Ctx("alice:demo").get(), start, &empty);
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
}
