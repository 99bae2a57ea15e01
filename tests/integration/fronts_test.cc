// REST and gRPC are two adapters over one service layer: every failing case
// of the contract answers with the same code (REST's HTTP status is
// HttpStatusFor(the gRPC code), status.h's one table) and the same message.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <functional>

#include "common/core/json_body.h"
#include "common/core/status.h"
#include "shareplane/api/v1/compute.grpc.pb.h"
#include "tests/support/stack.h"

using namespace shareplane::testing;
namespace apipb = shareplane::api::v1;
using nlohmann::json;

namespace {

using Stub = apipb::Compute::Stub;

struct Case {
  std::string name;
  // The REST request: method, path, body, token.
  std::string method, path, body, token;
  // The same request through gRPC, with `ctx` carrying the token.
  std::function<grpc::Status(Stub&, grpc::ClientContext*)> rpc;
};

// The fault's message, whichever Nova or keystonemiddleware form it has.
std::string FaultMessage(const std::string& body) {
  json j = shareplane::ParseJson(body).value_or(json());
  if (!j.is_object() || j.empty() || !j.begin()->is_object()) return body;
  return j.begin()->value("message", body);
}

template <typename Request, typename Response>
std::function<grpc::Status(Stub&, grpc::ClientContext*)> Rpc(
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*),
    Request req) {
  return [method, req](Stub& stub, grpc::ClientContext* ctx) {
    Response out;
    return (stub.*method)(ctx, req, &out);
  };
}

apipb::AttachShareRequest Attach(const std::string& server,
                                 const std::string& share,
                                 const std::string& tag = "") {
  apipb::AttachShareRequest r;
  r.set_server_id(server);
  r.set_share_id(share);
  r.set_tag(tag);
  return r;
}

template <typename Request>
Request ServerRequest(const std::string& server) {
  Request r;
  r.set_server_id(server);
  return r;
}

}  // namespace

TEST_CASE(
    "REST and gRPC answer every failing case with the same code and message",
    "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string stopped = stack.CreateServer();
  const std::string running = stack.CreateServer("hv1", "active");
  const std::string share = stack.CreateShare();
  const std::string other = stack.CreateShare();
  const std::string unknown = "11111111-2222-3333-4444-555555555555";
  // A share already attached: the duplicate case.
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + stopped + "/shares",
                   AttachBody(share, "data"))
              .status == 201);

  auto create = [](const std::string& name, const std::string& flavor,
                   const std::string& az) {
    apipb::CreateServerRequest r;
    r.set_name(name);
    r.set_flavor_ref(flavor);
    r.set_availability_zone(az);
    return r;
  };
  auto create_body = [](const std::string& name, const std::string& flavor,
                        const std::string& az) {
    json s = {{"name", name}, {"flavorRef", flavor}};
    if (!az.empty()) s["availability_zone"] = az;
    return json{{"server", s}}.dump();
  };
  apipb::GetServerShareRequest show;
  show.set_server_id(stopped);
  show.set_share_id(unknown);
  apipb::DetachShareRequest detach_running;
  detach_running.set_server_id(running);
  detach_running.set_share_id(share);
  apipb::RebootServerRequest hard;
  hard.set_server_id(unknown);
  hard.set_hard(true);
  const std::string shares = "/v2.1/servers/" + stopped + "/shares";

  const std::vector<Case> cases = {
      {"attach: share id not a uuid", "POST", shares, AttachBody("nope"),
       "alice:demo", Rpc(&Stub::AttachShare, Attach(stopped, "nope"))},
      {"attach: tag with a space", "POST", shares, AttachBody(other, "a b"),
       "alice:demo", Rpc(&Stub::AttachShare, Attach(stopped, other, "a b"))},
      {"attach: unknown server", "POST", "/v2.1/servers/" + unknown + "/shares",
       AttachBody(other), "alice:demo",
       Rpc(&Stub::AttachShare, Attach(unknown, other))},
      {"attach: another project's server", "POST", shares, AttachBody(other),
       "eve:other", Rpc(&Stub::AttachShare, Attach(stopped, other))},
      {"attach: running server", "POST", "/v2.1/servers/" + running + "/shares",
       AttachBody(other), "alice:demo",
       Rpc(&Stub::AttachShare, Attach(running, other))},
      {"attach: unknown share", "POST", shares, AttachBody(unknown),
       "alice:demo", Rpc(&Stub::AttachShare, Attach(stopped, unknown))},
      {"attach: the same share again", "POST", shares,
       AttachBody(share, "data"), "alice:demo",
       Rpc(&Stub::AttachShare, Attach(stopped, share, "data"))},
      {"attach: no credentials", "POST", shares, AttachBody(other), "",
       Rpc(&Stub::AttachShare, Attach(stopped, other))},
      {"show: unknown share", "GET", shares + "/" + unknown, "", "alice:demo",
       Rpc(&Stub::GetServerShare, show)},
      {"detach: running server", "DELETE",
       "/v2.1/servers/" + running + "/shares/" + share, "", "alice:demo",
       Rpc(&Stub::DetachShare, detach_running)},
      {"create: unknown flavor", "POST", "/v2.1/servers",
       create_body("vm", "nope", ""), "alice:demo",
       Rpc(&Stub::CreateServer, create("vm", "nope", ""))},
      {"create: empty name", "POST", "/v2.1/servers", create_body("", "1", ""),
       "alice:demo", Rpc(&Stub::CreateServer, create("", "1", ""))},
      {"create: unknown availability zone", "POST", "/v2.1/servers",
       create_body("vm", "1", "mars"), "alice:demo",
       Rpc(&Stub::CreateServer, create("vm", "1", "mars"))},
      {"show: another project's server", "GET", "/v2.1/servers/" + stopped, "",
       "eve:other",
       Rpc(&Stub::GetServer, ServerRequest<apipb::GetServerRequest>(stopped))},
      {"delete: unknown server", "DELETE", "/v2.1/servers/" + unknown, "",
       "alice:demo",
       Rpc(&Stub::DeleteServer,
           ServerRequest<apipb::DeleteServerRequest>(unknown))},
      {"stop: a stopped server", "POST", "/v2.1/servers/" + stopped + "/action",
       R"({"os-stop": null})", "alice:demo",
       Rpc(&Stub::StopServer,
           ServerRequest<apipb::ServerActionRequest>(stopped))},
      {"start: its host is down", "POST",
       "/v2.1/servers/" + stopped + "/action", R"({"os-start": null})",
       "alice:demo",
       Rpc(&Stub::StartServer,
           ServerRequest<apipb::ServerActionRequest>(stopped))},
      {"reboot: unknown server", "POST", "/v2.1/servers/" + unknown + "/action",
       R"({"reboot": {"type": "HARD"}})", "alice:demo",
       Rpc(&Stub::RebootServer, hard)},
  };

  auto channel = grpc::CreateChannel(stack.grpc_endpoint(),
                                     grpc::InsecureChannelCredentials());
  auto stub = apipb::Compute::NewStub(channel);
  int distinct_codes = 0;
  std::set<int> seen;
  for (const Case& c : cases) {
    INFO(c.name);
    shareplane::HttpResponse rest =
        stack.Api(c.method, c.path, c.body, c.token);
    grpc::ClientContext ctx;
    if (!c.token.empty()) ctx.AddMetadata("x-auth-token", c.token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    const grpc::Status g = c.rpc(*stub, &ctx);
    INFO("REST " << rest.status << " " << rest.body);
    INFO("gRPC " << g.error_code() << " " << g.error_message());
    CHECK(rest.status >= 400);
    CHECK(shareplane::HttpStatusFor(
              static_cast<absl::StatusCode>(g.error_code())) == rest.status);
    CHECK(g.error_message() == FaultMessage(rest.body));
    // The request id comes back on both.
    CHECK(!rest.Header("x-openstack-request-id").empty());
    CHECK(ctx.GetServerInitialMetadata().count("x-openstack-request-id") == 1);
    if (seen.insert(rest.status).second) ++distinct_codes;
  }
  // The table covers 400, 401, 404 and 409 at least.
  CHECK(distinct_codes >= 4);
}
