// The Manila emulator driven through the real ManilaClient over loopback.
#include "tests/manila-emulator/emulator.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/manila_client.h"
#include "common/retry.h"

using namespace shareplane;

namespace {

struct EmulatorFixture {
  ManilaEmulator emulator{ManilaEmulatorOptions{std::chrono::milliseconds(20)}};
  HttpServer server{[this](const HttpRequest& r) { return emulator.Handle(r); },
                    2};
  std::string base;
  EmulatorFixture() {
    int port = *server.Listen("127.0.0.1", 0);
    server.Start();
    base = "http://127.0.0.1:" + std::to_string(port);
  }
  std::string CreateShare(const std::string& proto, const std::string& status) {
    HttpClientRequest req;
    req.method = "POST";
    req.url = base + "/v2/shares";
    req.headers = {{"X-Auth-Token", "admin:admin"}};
    req.body = nlohmann::json{{"share",
                               {{"share_proto", proto},
                                {"project_id", "demo"},
                                {"status", status}}}}
                   .dump();
    auto resp = HttpFetch(req);
    REQUIRE(resp.ok());
    REQUIRE(resp->status == 200);
    return nlohmann::json::parse(resp->body)["share"]["id"];
  }
};

const ManilaAuth kUser{"alice:demo", "nova:service"};

}  // namespace

TEST_CASE("emulator shares are visible to their project only", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto share = client.GetShare(id, {"bob:demo", ""});
  REQUIRE(share.ok());
  CHECK(share->status == "available");
  CHECK(share->share_proto == "NFS");
  CHECK(client.GetShare(id, {"eve:other", ""}).status().code() ==
        absl::StatusCode::kNotFound);
  auto locations = client.ListExportLocations(id, {"bob:demo", ""});
  REQUIRE(locations.ok());
  REQUIRE(locations->size() == 1);
  CHECK((*locations)[0].path == "127.0.0.1:/shares/share-" + id);
}

TEST_CASE("emulator applies grants asynchronously and locks them", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto rule = client.AllowAccess(id, "ip", "10.0.0.9", "test", kUser);
  REQUIRE(rule.ok());
  CHECK(rule->state == "queued_to_apply");

  // The same grant again is refused with Manila's message.
  auto again = client.AllowAccess(id, "ip", "10.0.0.9/32", "test", kUser);
  CHECK(again.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(again.status().message()).find("exists") !=
        std::string::npos);

  RealClock clock;
  REQUIRE(PollUntil(clock, std::chrono::seconds(5),
                    std::chrono::milliseconds(5), "active",
                    [&]() -> absl::StatusOr<bool> {
                      auto rules = client.ListAccessRules(id, kUser);
                      if (!rules.ok()) return rules.status();
                      return rules->size() == 1 &&
                             (*rules)[0].state == "active";
                    })
              .ok());
  // Without the service token the locked rule is redacted and cannot go.
  auto seen = client.ListAccessRules(id, {"alice:demo", ""});
  REQUIRE(seen.ok());
  CHECK((*seen)[0].access_to == "******");
  CHECK(client.DenyAccess(id, rule->id, {"alice:demo", ""}).code() ==
        absl::StatusCode::kPermissionDenied);

  // The share cannot be deleted while the rule holds its lock.
  HttpClientRequest del;
  del.method = "DELETE";
  del.url = f.base + "/v2/shares/" + id;
  del.headers = {{"X-Auth-Token", "alice:demo"}};
  CHECK(HttpFetch(del)->status == 403);

  REQUIRE(client.DenyAccess(id, rule->id, kUser).ok());
  REQUIRE(PollUntil(clock, std::chrono::seconds(5),
                    std::chrono::milliseconds(5), "gone",
                    [&]() -> absl::StatusOr<bool> {
                      auto rules = client.ListAccessRules(id, kUser);
                      if (!rules.ok()) return rules.status();
                      return rules->empty();
                    })
              .ok());
  CHECK(HttpFetch(del)->status == 202);
}

TEST_CASE("emulator reports unknown shares on rule listing as 400", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  auto rules =
      client.ListAccessRules("00000000-0000-0000-0000-000000000000", kUser);
  CHECK(rules.status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("emulator cephx grants get an access key once active", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("CEPHFS", "available");
  CHECK(client.AllowAccess(id, "cephx", "bad.id", "x", kUser).status().code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(client.AllowAccess(id, "cephx", "nova", "x", kUser).ok());
  RealClock clock;
  REQUIRE(PollUntil(clock, std::chrono::seconds(5),
                    std::chrono::milliseconds(5), "key",
                    [&]() -> absl::StatusOr<bool> {
                      auto rules = client.ListAccessRules(id, kUser);
                      if (!rules.ok()) return rules.status();
                      return (*rules)[0].state == "active" &&
                             !(*rules)[0].access_key.empty();
                    })
              .ok());
}

TEST_CASE("emulator refuses microversions above 2.82 with 406", "[unit]") {
  EmulatorFixture f;
  HttpClientRequest req;
  req.url = f.base + "/v2/shares";
  req.headers = {{"X-Auth-Token", "alice:demo"},
                 {"X-OpenStack-Manila-API-Version", "2.99"}};
  auto resp = HttpFetch(req);
  REQUIRE(resp.ok());
  CHECK(resp->status == 406);
  CHECK(resp->body.find("Version 2.99 is not supported by the API. Minimum "
                        "is 2.0 and maximum is 2.82.") != std::string::npos);
}
