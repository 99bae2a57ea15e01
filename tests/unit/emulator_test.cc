// The Manila emulator driven through the real ManilaClient over loopback.
#include "tests/manila-emulator/emulator.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/core/retry.h"
#include "common/openstack/manila_client.h"

using namespace shareplane;

namespace {

ManilaEmulatorOptions FastOptions(int max_microversion_minor) {
  ManilaEmulatorOptions o;
  o.apply_delay = std::chrono::milliseconds(20);
  o.max_microversion_minor = max_microversion_minor;
  return o;
}

struct EmulatorFixture {
  ManilaEmulator emulator;
  HttpServer server{[this](const HttpRequest& r) { return emulator.Handle(r); },
                    2};
  std::string base;
  // An emulator of Manila up to 2.<max_microversion_minor>.
  explicit EmulatorFixture(int max_microversion_minor = 88)
      : emulator(FastOptions(max_microversion_minor)) {
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

const ManilaAuth kUser{"alice:demo", "nova:service", ""};

// Polls until the share's rule `rule_id` is active at `level`.
absl::Status WaitActiveAt(ManilaClient& client, const std::string& share_id,
                          const std::string& rule_id,
                          const std::string& level) {
  RealClock clock;
  return PollUntil(clock, std::chrono::seconds(5), std::chrono::milliseconds(5),
                   "rule active at " + level, [&]() -> absl::StatusOr<bool> {
                     auto rules = client.ListAccessRules(share_id, kUser);
                     if (!rules.ok()) return rules.status();
                     for (const ManilaAccessRule& r : *rules) {
                       if (r.id == rule_id) {
                         return r.state == "active" && r.access_level == level;
                       }
                     }
                     return absl::NotFoundError("the rule is gone");
                   });
}

}  // namespace

TEST_CASE("emulator shares are visible to their project only", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto share = client.GetShare(id, {"bob:demo", "", ""});
  REQUIRE(share.ok());
  CHECK(share->status == "available");
  CHECK(share->share_proto == "NFS");
  CHECK(client.GetShare(id, {"eve:other", "", ""}).status().code() ==
        absl::StatusCode::kNotFound);
  auto locations = client.ListExportLocations(id, {"bob:demo", "", ""});
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
  CHECK(again.status().code() == absl::StatusCode::kAlreadyExists);
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
  auto seen = client.ListAccessRules(id, {"alice:demo", "", ""});
  REQUIRE(seen.ok());
  CHECK((*seen)[0].access_to == "******");
  CHECK(client.DenyAccess(id, rule->id, {"alice:demo", "", ""}).code() ==
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

TEST_CASE("emulator refuses microversions above 2.88 with 406", "[unit]") {
  EmulatorFixture f;
  HttpClientRequest req;
  req.url = f.base + "/v2/shares";
  req.headers = {{"X-Auth-Token", "alice:demo"},
                 {"X-OpenStack-Manila-API-Version", "2.99"}};
  auto resp = HttpFetch(req);
  REQUIRE(resp.ok());
  CHECK(resp->status == 406);
  CHECK(resp->body.find("Version 2.99 is not supported by the API. Minimum "
                        "is 2.0 and maximum is 2.88.") != std::string::npos);
}

TEST_CASE("emulator grants carry Manila's resource locks", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto rule = client.AllowAccess(id, "ip", "10.0.0.7", "shareplane", kUser);
  REQUIRE(rule.ok());

  // A delete and a show lock on the rule, a delete lock on the share that
  // names the rule's lock, all in the service context.
  auto rule_locks = client.ListResourceLocks(rule->id, kUser);
  REQUIRE(rule_locks.ok());
  REQUIRE(rule_locks->size() == 2);
  std::string rule_delete_lock;
  for (const auto& l : *rule_locks) {
    CHECK(l.resource_type == "access_rule");
    CHECK(l.lock_context == "service");
    CHECK(l.lock_reason == "shareplane");
    if (l.resource_action == "delete") rule_delete_lock = l.id;
  }
  REQUIRE(!rule_delete_lock.empty());
  auto share_locks = client.ListResourceLocks(id, kUser);
  REQUIRE(share_locks.ok());
  REQUIRE(share_locks->size() == 1);
  CHECK((*share_locks)[0].resource_action == "delete");
  CHECK((*share_locks)[0].lock_reason ==
        "Locked by access lock: " + rule_delete_lock);

  // The share cannot be deleted, and the message names the lock.
  HttpClientRequest del;
  del.method = "DELETE";
  del.url = f.base + "/v2/shares/" + id;
  del.headers = {{"X-Auth-Token", "admin:admin"}};
  auto refused = HttpFetch(del);
  CHECK(refused->status == 403);
  CHECK(refused->body.find("Resource lock/s [" + (*share_locks)[0].id +
                           "] prevent delete action.") != std::string::npos);
  // Neither the user nor an admin without a service token may lift a
  // service lock.
  HttpClientRequest unlock;
  unlock.method = "DELETE";
  unlock.url = f.base + "/v2/resource-locks/" + (*share_locks)[0].id;
  unlock.headers = {{"X-Auth-Token", "alice:demo"},
                    {"X-OpenStack-Manila-API-Version", "2.81"}};
  CHECK(HttpFetch(unlock)->status == 403);

  // Revoking with unrestrict as the locker removes every lock.
  REQUIRE(client.DenyAccess(id, rule->id, kUser).ok());
  CHECK(client.ListResourceLocks(rule->id, kUser)->empty());
  CHECK(client.ListResourceLocks(id, kUser)->empty());
}

TEST_CASE("emulator resource-locks API creates, shows and deletes locks",
          "[unit]") {
  EmulatorFixture f;
  std::string id = f.CreateShare("NFS", "available");
  auto call = [&](const std::string& method, const std::string& path,
                  const std::string& token, const std::string& body,
                  const std::string& version = "2.81") {
    HttpClientRequest req;
    req.method = method;
    req.url = f.base + "/v2" + path;
    req.body = body;
    req.headers = {{"X-Auth-Token", token},
                   {"X-OpenStack-Manila-API-Version", version}};
    return *HttpFetch(req);
  };
  // Not there before 2.81.
  CHECK(call("GET", "/resource-locks", "bob:demo", "", "2.80").status == 404);
  auto created =
      call("POST", "/resource-locks", "bob:demo",
           nlohmann::json{{"resource_lock",
                           {{"resource_id", id}, {"lock_reason", "keep it"}}}}
               .dump());
  REQUIRE(created.status == 200);
  auto lock = nlohmann::json::parse(created.body)["resource_lock"];
  CHECK(lock["resource_type"] == "share");
  CHECK(lock["resource_action"] == "delete");
  CHECK(lock["lock_context"] == "user");
  CHECK(lock["user_id"] == "bob");
  const std::string lock_id = lock["id"];
  CHECK(call("GET", "/resource-locks/" + lock_id, "alice:demo", "").status ==
        200);
  CHECK(call("GET", "/resource-locks/" + lock_id, "eve:other", "").status ==
        404);
  CHECK(call("DELETE", "/shares/" + id, "bob:demo", "").status == 403);
  // Another user of the project cannot lift bob's lock; bob can.
  CHECK(call("DELETE", "/resource-locks/" + lock_id, "alice:demo", "").status ==
        403);
  CHECK(call("DELETE", "/resource-locks/" + lock_id, "bob:demo", "").status ==
        204);
  CHECK(call("DELETE", "/shares/" + id, "bob:demo", "").status == 202);
}

TEST_CASE("emulator state survives a restart with a state file", "[unit]") {
  char dir[] = "/tmp/sp-emu.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  ManilaEmulatorOptions options;
  options.apply_delay = std::chrono::milliseconds(1);
  options.state_file = std::string(dir) + "/state.json";
  std::string share_id, rule_id;
  {
    ManilaEmulator emulator(options);
    HttpRequest create;
    create.method = "POST";
    create.path = "/v2/shares";
    create.headers = {{"x-auth-token", "bob:demo"}};
    create.body = R"({"share": {"share_proto": "NFS", "name": "keep"}})";
    HttpResponse resp = emulator.Handle(create);
    REQUIRE(resp.status == 200);
    share_id = nlohmann::json::parse(resp.body)["share"]["id"];
    HttpRequest grant;
    grant.method = "POST";
    grant.path = "/v2/shares/" + share_id + "/action";
    grant.headers = {{"x-auth-token", "bob:demo"},
                     {"x-service-token", "nova:service"},
                     {"x-openstack-manila-api-version", "2.82"}};
    grant.body =
        R"({"allow_access": {"access_type": "ip", "access_to": "10.1.1.1",
            "lock_deletion": true}})";
    resp = emulator.Handle(grant);
    REQUIRE(resp.status == 200);
    rule_id = nlohmann::json::parse(resp.body)["access"]["id"];
  }
  {
    ManilaEmulator restarted(options);
    HttpRequest list;
    list.method = "GET";
    list.path = "/v2/share-access-rules";
    list.query = "share_id=" + share_id;
    list.headers = {{"x-auth-token", "bob:demo"},
                    {"x-service-token", "nova:service"},
                    {"x-openstack-manila-api-version", "2.82"}};
    HttpResponse resp = restarted.Handle(list);
    REQUIRE(resp.status == 200);
    auto rules = nlohmann::json::parse(resp.body)["access_list"];
    REQUIRE(rules.size() == 1);
    CHECK(rules[0]["id"] == rule_id);
    HttpRequest del;
    del.method = "DELETE";
    del.path = "/v2/shares/" + share_id;
    del.headers = {{"x-auth-token", "bob:demo"}};
    CHECK(restarted.Handle(del).status == 403);  // the lock came back too
  }                                              // stopped before its files go
  std::filesystem::remove_all(dir);
}

TEST_CASE("emulator fault injection fails the next calls, admin only",
          "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  HttpClientRequest inject;
  inject.method = "POST";
  inject.url = f.base + "/v2/_emulator/faults";
  inject.body = R"({"fail_next": 2, "fail_status": 500})";
  inject.headers = {{"X-Auth-Token", "alice:demo"}};
  CHECK(HttpFetch(inject)->status == 403);
  inject.headers = {{"X-Auth-Token", "admin:admin"}};
  CHECK(HttpFetch(inject)->status == 204);
  CHECK(client.GetShare(id, kUser).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(client.GetShare(id, kUser).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(client.GetShare(id, kUser).ok());
}

TEST_CASE("emulator changes a rule's access level rw to ro and back in place",
          "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto rule = client.AllowAccess(id, "ip", "10.0.0.5", "test", "rw", kUser);
  REQUIRE(rule.ok());
  CHECK(rule->access_level == "rw");
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());

  REQUIRE(client.UpdateAccessLevel(rule->id, "ro", kUser).ok());
  auto rules = client.ListAccessRules(id, kUser);
  REQUIRE(rules.ok());
  REQUIRE(rules->size() == 1);
  CHECK((*rules)[0].id == rule->id);
  CHECK((*rules)[0].access_level == "ro");
  REQUIRE(WaitActiveAt(client, id, rule->id, "ro").ok());

  REQUIRE(client.UpdateAccessLevel(rule->id, "rw", kUser).ok());
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());
  CHECK(client.ListAccessRules(id, kUser)->size() == 1);  // still one rule
}

TEST_CASE("emulator keeps a cephx key across an access-level update",
          "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("CEPHFS", "available");
  auto rule = client.AllowAccess(id, "cephx", "nova", "x", "ro", kUser);
  REQUIRE(rule.ok());
  CHECK(rule->access_level == "ro");
  REQUIRE(WaitActiveAt(client, id, rule->id, "ro").ok());
  const std::string key = (*client.ListAccessRules(id, kUser))[0].access_key;
  REQUIRE(!key.empty());
  REQUIRE(client.UpdateAccessLevel(rule->id, "rw", kUser).ok());
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());
  CHECK((*client.ListAccessRules(id, kUser))[0].access_key == key);
}

TEST_CASE("emulator access-level update answers 200 with the queued rule",
          "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto rule = client.AllowAccess(id, "ip", "10.0.0.6", "test", kUser);
  REQUIRE(rule.ok());
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());
  auto call = [&](const std::string& method, const std::string& path,
                  const std::string& version, const std::string& body) {
    HttpClientRequest req;
    req.method = method;
    req.url = f.base + "/v2/demo" + path;  // with the project prefix
    req.body = body;
    req.headers = {{"X-Auth-Token", "alice:demo"},
                   {"X-Service-Token", "nova:service"},
                   {"X-OpenStack-Manila-API-Version", version}};
    return *HttpFetch(req);
  };
  const std::string path = "/share-access-rules/" + rule->id;
  const std::string to_ro = R"({"update_access": {"access_level": "ro"}})";
  CHECK(call("PUT", path, "2.87", to_ro).status == 404);  // from 2.88 on
  CHECK(call("PUT", path, "2.88", "").status == 400);
  CHECK(call("PUT", path, "2.88", R"({"update_access": {}})").status == 400);
  auto bad =
      call("PUT", path, "2.88", R"({"update_access": {"access_level": "rx"}})");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("Invalid or unsupported share access level: rx.") !=
        std::string::npos);
  auto unknown = call("PUT", "/share-access-rules/nope", "2.88", to_ro);
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("Share access rule nope not found.") !=
        std::string::npos);

  auto listed = call("GET", "/share-access-rules?share_id=" + id, "2.88", "");
  REQUIRE(listed.status == 200);
  const std::string before =
      nlohmann::json::parse(listed.body)["access_list"][0]["updated_at"];
  auto updated = call("PUT", path, "2.88", to_ro);
  REQUIRE(updated.status == 200);
  auto access = nlohmann::json::parse(updated.body)["access"];
  CHECK(access["id"] == rule->id);
  CHECK(access["share_id"] == id);
  CHECK(access["access_level"] == "ro");
  CHECK(access["state"] == "queued_to_apply");
  CHECK(access["updated_at"] != before);
}

TEST_CASE(
    "emulator refuses access-level updates of unknown or unsettled "
    "rules and of bad levels",
    "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  CHECK(client
            .UpdateAccessLevel("00000000-0000-0000-0000-000000000000", "ro",
                               kUser)
            .code() == absl::StatusCode::kNotFound);
  auto rule = client.AllowAccess(id, "ip", "10.0.0.8", "test", kUser);
  REQUIRE(rule.ok());
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());
  CHECK(client.UpdateAccessLevel(rule->id, "rx", kUser).code() ==
        absl::StatusCode::kInvalidArgument);

  // A rule still being applied cannot change level.
  HttpClientRequest inject;
  inject.method = "POST";
  inject.url = f.base + "/v2/_emulator/faults";
  inject.body = R"({"rules": "stuck"})";
  inject.headers = {{"X-Auth-Token", "admin:admin"}};
  REQUIRE(HttpFetch(inject)->status == 204);
  auto stuck = client.AllowAccess(id, "ip", "10.0.0.9", "test", kUser);
  REQUIRE(stuck.ok());
  CHECK(client.UpdateAccessLevel(stuck->id, "ro", kUser).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("emulator lets the locker update a locked rule's level", "[unit]") {
  EmulatorFixture f;
  ManilaClient client({f.base + "/v2"});
  std::string id = f.CreateShare("NFS", "available");
  auto rule = client.AllowAccess(id, "ip", "10.0.0.7", "shareplane", kUser);
  REQUIRE(rule.ok());
  REQUIRE(client.ListResourceLocks(rule->id, kUser)->size() == 2);
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());
  REQUIRE(client.UpdateAccessLevel(rule->id, "ro", kUser).ok());
  REQUIRE(WaitActiveAt(client, id, rule->id, "ro").ok());
  // The locks stay, and still refuse a deny without the service token.
  CHECK(client.ListResourceLocks(rule->id, kUser)->size() == 2);
  CHECK(client.DenyAccess(id, rule->id, {"alice:demo", "", ""}).code() ==
        absl::StatusCode::kPermissionDenied);
}

TEST_CASE("emulator started as Manila 2.82 has no access-level update",
          "[unit]") {
  EmulatorFixture current;
  ManilaClient current_client({current.base + "/v2"});
  auto current_minor = current_client.MaxMicroversionMinor(kUser);
  REQUIRE(current_minor.ok());
  CHECK(*current_minor == 88);
  // A catalog endpoint with the project id finds the same versions.
  ManilaClient project_client({current.base + "/v2/demo"});
  auto project_minor = project_client.MaxMicroversionMinor(kUser);
  REQUIRE(project_minor.ok());
  CHECK(*project_minor == 88);

  EmulatorFixture old(82);
  HttpClientRequest root;
  root.url = old.base + "/";
  auto versions = HttpFetch(root);
  REQUIRE(versions.ok());
  CHECK(versions->status == 300);
  CHECK(nlohmann::json::parse(versions->body)["versions"][0]["version"] ==
        "2.82");
  ManilaClient client({old.base + "/v2"});
  auto minor = client.MaxMicroversionMinor(kUser);
  REQUIRE(minor.ok());
  CHECK(*minor == 82);

  std::string id = old.CreateShare("NFS", "available");
  auto rule = client.AllowAccess(id, "ip", "10.0.0.4", "test", kUser);
  REQUIRE(rule.ok());
  REQUIRE(WaitActiveAt(client, id, rule->id, "rw").ok());
  absl::Status updated = client.UpdateAccessLevel(rule->id, "ro", kUser);
  CHECK(updated.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(updated.message()).find("maximum is 2.82.") !=
        std::string::npos);
  CHECK((*client.ListAccessRules(id, kUser))[0].access_level == "rw");

  // The answer is kept: no request once it is known.
  old.server.Stop();
  minor = client.MaxMicroversionMinor(kUser);
  REQUIRE(minor.ok());
  CHECK(*minor == 82);
}
