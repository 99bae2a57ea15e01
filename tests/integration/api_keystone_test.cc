// The compute API with [api] auth_strategy = keystone against the fixture's
// real Keystone: tokens of each role get what Nova's default policy allows,
// bad tokens get Keystone's 401, results are cached, and a Keystone outage
// gives 503 only for tokens the API has not seen. Keystone is reached
// through a counting proxy the test can also cut.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "shareplane/api/v1/compute.grpc.pb.h"
#include "tests/support/stack.h"
#include "tests/support/tcp_proxy.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

namespace apipb = shareplane::api::v1;

const TestServices& Ks() { return TestServices::Get(); }

int PortOf(const std::string& url) {
  const size_t colon = url.rfind(':');
  return std::stoi(url.substr(colon + 1));
}

// A compute API call at microversion 2.97 with `headers` added.
HttpResponse Call(Stack& stack, const std::string& method,
                  const std::string& path,
                  std::vector<std::pair<std::string, std::string>> headers,
                  const std::string& body = "") {
  headers.emplace_back("OpenStack-API-Version", "compute 2.97");
  return Http(method, stack.api_url() + path, headers, body);
}

std::string Message(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || j.empty() || !j.begin()->is_object()) return r.body;
  return j.begin()->value("message", "");
}

}  // namespace

TEST_CASE("the API authenticates with Keystone and enforces roles",
          "[integration][keystone]") {
  const std::string admin = KeystoneToken("admin", "admin");
  // http://127.0.0.1:PORT/v3 -> http://127.0.0.1:PORT
  const std::string keystone_root =
      Ks().keystone_url.substr(0, Ks().keystone_url.rfind("/v3"));
  const int proxy_port = FreePort();
  TcpProxy proxy(proxy_port, PortOf(keystone_root));
  proxy.CountSent("GET /v3/auth/tokens ");
  proxy.Start();
  Stack stack("[api]\nauth_strategy = keystone\n" +
              KeystoneServiceConfig(
                  "keystone_authtoken",
                  "http://127.0.0.1:" + std::to_string(proxy_port) + "/v3") +
              "www_authenticate_uri = " + keystone_root + "\n" +
              KeystoneServiceConfig("manila"));
  stack.StartEmulator(30, {"--keystone_url=" + Ks().keystone_url});
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string alice = KeystoneToken("alice", "demo");  // member
  const std::string bob = KeystoneToken("bob", "demo");      // reader
  const std::string eve = KeystoneToken("eve", "other");     // member
  const std::string nova = KeystoneToken("nova", "service");
  auto as = [](const std::string& token) {
    return std::vector<std::pair<std::string, std::string>>{
        {"X-Auth-Token", token}};
  };

  SECTION("missing, forged, expired and revoked tokens get Keystone's 401") {
    const std::string revoked = KeystoneToken("alice", "demo");
    Http("DELETE", Ks().keystone_url + "/auth/tokens",
         {{"X-Auth-Token", admin}, {"X-Subject-Token", revoked}});
    const std::string expired = ExpiredKeystoneToken("alice", "demo");
    struct Case {
      const char* what;
      std::vector<std::pair<std::string, std::string>> headers;
    };
    const std::vector<Case> cases = {
        {"no token", {}},
        {"forged token", as("gAAAAABforgedforgedforgedforged")},
        {"noauth-style token", as("alice:demo")},
        {"expired token", as(expired)},
        {"revoked token", as(revoked)},
        {"bad service token",
         {{"X-Auth-Token", alice}, {"X-Service-Token", "forged"}}},
    };
    for (const Case& c : cases) {
      INFO(c.what);
      HttpResponse r = Call(stack, "GET", "/v2.1/servers", c.headers);
      CHECK(r.status == 401);
      CHECK(r.Header("WWW-Authenticate") ==
            "Keystone uri=\"" + keystone_root + "\"");
      CHECK(json::parse(r.body) ==
            json{{"error",
                  {{"code", 401},
                   {"title", "Unauthorized"},
                   {"message",
                    "The request you have made requires authentication."}}}});
    }
    // Version discovery needs no token, as in Nova.
    CHECK(Call(stack, "GET", "/", {}).status == 200);
    // A valid service token beside the user's is accepted.
    CHECK(Call(stack, "GET", "/v2.1/servers",
               {{"X-Auth-Token", alice}, {"X-Service-Token", nova}})
              .status == 200);
  }

  SECTION("each role gets what policy allows, in its own project") {
    const std::string flavor =
        R"({"flavor": {"name": "m1.tiny", "ram": 256, "vcpus": 1, "disk": 1}})";
    HttpResponse denied =
        Call(stack, "POST", "/v2.1/flavors", as(alice), flavor);
    CHECK(denied.status == 403);
    CHECK(Message(denied) ==
          "Policy doesn't allow os_compute_api:os-flavor-manage:create to be "
          "performed.");
    REQUIRE(Call(stack, "POST", "/v2.1/flavors", as(admin), flavor).status ==
            200);
    const std::string create =
        R"({"server": {"name": "vm1", "flavorRef": "m1.tiny", "networks": "none"}})";
    CHECK(Call(stack, "POST", "/v2.1/servers", as(bob), create).status == 403);
    HttpResponse created =
        Call(stack, "POST", "/v2.1/servers", as(alice), create);
    REQUIRE(created.status == 202);
    const std::string id = json::parse(created.body)["server"]["id"];
    auto show = [&](const std::string& token) {
      return Call(stack, "GET", "/v2.1/servers/" + id, as(token));
    };
    auto status = [&] {
      HttpResponse r = show(alice);
      return r.status == 200
                 ? json::parse(r.body)["server"]["status"].get<std::string>()
                 : "HTTP " + std::to_string(r.status);
    };
    REQUIRE(WaitUntil([&] { return status() == "ACTIVE"; }));
    // The server belongs to the token's project and user.
    json server = json::parse(show(alice).body)["server"];
    CHECK(server["tenant_id"] == Ks().demo_project_id);
    CHECK(server["user_id"] == KeystoneCall("GET", "/users?name=alice", nullptr,
                                            admin)["users"][0]["id"]);
    // Readers of the project see it; another project does not know it.
    CHECK(show(bob).status == 200);
    HttpResponse hidden = show(eve);
    CHECK(hidden.status == 404);
    CHECK(Message(hidden) == "Instance " + id + " could not be found.");
    CHECK(json::parse(
              Call(stack, "GET", "/v2.1/servers", as(eve)).body)["servers"]
              .empty());
    // The admin sees it, with the host.
    HttpResponse by_admin = show(admin);
    CHECK(by_admin.status == 200);
    CHECK(json::parse(by_admin.body)["server"]["OS-EXT-SRV-ATTR:host"] ==
          "hv1");
    // Readers cannot act.
    const std::string stop = R"({"os-stop": null})";
    CHECK(Call(stack, "POST", "/v2.1/servers/" + id + "/action", as(bob), stop)
              .status == 403);
    CHECK(Call(stack, "POST", "/v2.1/servers/" + id + "/action", as(eve), stop)
              .status == 404);
    REQUIRE(
        Call(stack, "POST", "/v2.1/servers/" + id + "/action", as(alice), stop)
            .status == 202);
    REQUIRE(WaitUntil([&] { return status() == "SHUTOFF"; }));

    // A share of alice's project, attached with her token: the API checks it
    // in Manila as alice, the conductor grants access with her token and the
    // service token (the emulator validates both with Keystone).
    HttpResponse share = Http(
        "POST", stack.manila_url() + "/shares", {{"X-Auth-Token", admin}},
        json{{"share",
              {{"share_proto", "NFS"}, {"project_id", Ks().demo_project_id}}}}
            .dump());
    REQUIRE(share.status == 200);
    const std::string share_id = json::parse(share.body)["share"]["id"];
    const std::string attach =
        json{{"share", {{"share_id", share_id}, {"tag", "data"}}}}.dump();
    const std::string shares = "/v2.1/servers/" + id + "/shares";
    CHECK(Call(stack, "POST", shares, as(bob), attach).status == 403);
    CHECK(Call(stack, "POST", shares, as(eve), attach).status == 404);
    HttpResponse attached = Call(stack, "POST", shares, as(alice), attach);
    INFO(attached.body);
    REQUIRE(attached.status == 201);
    auto share_status = [&] {
      HttpResponse r = Call(stack, "GET", shares + "/" + share_id, as(bob));
      return r.status == 200
                 ? json::parse(r.body)["share"]["status"].get<std::string>()
                 : "HTTP " + std::to_string(r.status);
    };
    REQUIRE(WaitUntil([&] { return share_status() == "inactive"; }));
    CHECK(Call(stack, "GET", shares, as(eve)).status == 404);
    CHECK(Call(stack, "DELETE", shares + "/" + share_id, as(bob)).status ==
          403);
    // No token reaches a log.
    const std::string logs = stack.Logs();
    CHECK(logs.find(alice) == std::string::npos);
    CHECK(logs.find(Ks().keystone_password) == std::string::npos);
  }

  SECTION("results are cached, and a Keystone outage spares cached tokens") {
    REQUIRE(Call(stack, "GET", "/v2.1/servers", as(alice)).status == 200);
    const int after_first = proxy.sent_count();
    CHECK(after_first >= 1);
    for (int i = 0; i < 5; ++i) {
      CHECK(Call(stack, "GET", "/v2.1/servers", as(alice)).status == 200);
    }
    // Invalid results are cached too.
    CHECK(Call(stack, "GET", "/v2.1/servers", as("forged-token")).status ==
          401);
    const int after_forged = proxy.sent_count();
    CHECK(after_forged == after_first + 1);
    CHECK(Call(stack, "GET", "/v2.1/servers", as("forged-token")).status ==
          401);
    CHECK(proxy.sent_count() == after_forged);
    // Operators see the cache misses by result.
    const std::string metrics = Http("GET", stack.api_url() + "/metrics").body;
    CHECK_THAT(
        metrics,
        Catch::Contains(
            "shareplane_keystone_validations_total{result=\"valid\"} ") &&
            Catch::Contains("shareplane_keystone_validations_total{"
                            "result=\"invalid\"} 1\n"));

    proxy.Stop();
    CHECK(Call(stack, "GET", "/v2.1/servers", as(alice)).status == 200);
    HttpResponse down = Call(stack, "GET", "/v2.1/servers", as(bob));
    CHECK(down.status == 503);
    CHECK(json::parse(down.body)["error"]["code"] == 503);
    // gRPC front: the same identities, the same answers.
    auto stub = apipb::Compute::NewStub(grpc::CreateChannel(
        stack.grpc_endpoint(), grpc::InsecureChannelCredentials()));
    auto list = [&](const std::string& token) {
      grpc::ClientContext ctx;
      if (!token.empty()) ctx.AddMetadata("x-auth-token", token);
      apipb::ListServersRequest req;
      apipb::ListServersResponse out;
      return stub->ListServers(&ctx, req, &out).error_code();
    };
    CHECK(list(alice) == grpc::StatusCode::OK);
    CHECK(list(bob) == grpc::StatusCode::UNAVAILABLE);
    proxy.Start();
    CHECK(list(bob) == grpc::StatusCode::OK);
    CHECK(list("") == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(list("forged-token") == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(Call(stack, "GET", "/v2.1/servers", as(bob)).status == 200);
  }
}
