// The conductor against Manila with Keystone: a real Keystone (the
// fixture's, tests/support/keystone) issues the conductor's service token,
// its catalog gives Manila's endpoint, and the Manila emulator validates
// every token with Keystone as Manila's keystonemiddleware does.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/core/ids.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

const TestServices& Ks() { return TestServices::Get(); }

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("the conductor calls Manila with a cached Keystone service token",
          "[integration][keystone]") {
  const std::string admin = KeystoneToken("admin", "admin");
  // Manila's endpoint in a region of this test's own.
  const std::string region = UniqueName("region");
  // A service user of this test's own: revoking its tokens below must not
  // touch the other tests' service user ("nova").
  const std::string service_user = UniqueName("svc");
  const std::string service_user_id =
      KeystoneCall("POST", "/users",
                   {{"user",
                     {{"name", service_user},
                      {"domain_id", "default"},
                      {"password", Ks().keystone_password}}}},
                   admin)["user"]["id"];
  const std::string service_project = KeystoneCall(
      "GET", "/projects?name=service", nullptr, admin)["projects"][0]["id"];
  for (const char* role : {"admin", "service"}) {
    const std::string role_id =
        KeystoneCall("GET", std::string("/roles?name=") + role, nullptr,
                     admin)["roles"][0]["id"];
    KeystoneCall("PUT",
                 "/projects/" + service_project + "/users/" + service_user_id +
                     "/roles/" + role_id,
                 nullptr, admin);
  }
  Stack stack(
      "[conductor]\nreconcile_interval = 1\nreconcile_stale_after = 1\n"
      "[manila]\nendpoint =\nauth_type = password\nauth_url = " +
      Ks().keystone_url + "\nusername = " + service_user +
      "\npassword = " + Ks().keystone_password +
      "\nproject_name = service\nregion_name = " + region + "\n");
  RegisterKeystoneEndpoint(region, "sharev2", stack.manila_url());
  stack.StartEmulator(30, {"--keystone_url=" + Ks().keystone_url});
  stack.StartConductor();

  // Shares of alice's project, made by Keystone's admin.
  auto create_share = [&] {
    HttpResponse r = Http(
        "POST", stack.manila_url() + "/shares", {{"X-Auth-Token", admin}},
        json{{"share",
              {{"share_proto", "NFS"}, {"project_id", Ks().demo_project_id}}}}
            .dump());
    REQUIRE(r.status == 200);
    return json::parse(r.body)["share"]["id"].get<std::string>();
  };
  // noauth tokens mean nothing to a Manila that validates with Keystone.
  CHECK(Http("GET", stack.manila_url() + "/shares",
             {{"X-Auth-Token", "admin:admin"}})
            .status == 401);
  const std::string server = stack.CreateServer("hv1");
  // A mapping whose task the reconciler queues (there is no Keystone-aware
  // API in this test: the API's own Keystone mode is tested elsewhere).
  auto attach = [&](const std::string& share) {
    stack.SeedLostMapping(server, share, "attaching");
    REQUIRE(WaitUntil([&] {
      std::string status;
      (void)stack.db().Transact([&](pqxx::work& w) {
        auto m = GetShareMappingByShare(w, server, share);
        if (m) status = m->status;
        return absl::OkStatus();
      });
      return status == "inactive";
    }));
  };
  const std::string first = create_share();
  attach(first);
  const std::string second = create_share();
  attach(second);
  // Two workflows, several Manila calls each, one token.
  CHECK(Count(stack.ConductorLog(), "Keystone issued a service token") == 1);
  // The locks are the service's: users cannot lift them.
  json rules = json::parse(
      Http(
          "GET", stack.manila_url() + "/share-access-rules?share_id=" + first,
          {{"X-Auth-Token", admin}, {"X-OpenStack-Manila-API-Version", "2.82"}})
          .body)["access_list"];
  REQUIRE(rules.size() == 1);
  json locks =
      json::parse(Http("GET",
                       stack.manila_url() + "/resource-locks?resource_id=" +
                           rules[0]["id"].get<std::string>(),
                       {{"X-Auth-Token", admin},
                        {"X-OpenStack-Manila-API-Version", "2.82"}})
                      .body)["resource_locks"];
  REQUIRE(locks.size() == 2);
  CHECK(locks[0]["lock_context"] == "service");

  // Disabling and enabling the service user revokes its tokens: Manila then
  // answers 401 and the conductor authenticates again, once.
  KeystoneCall("PATCH", "/users/" + service_user_id,
               {{"user", {{"enabled", false}}}}, admin);
  KeystoneCall("PATCH", "/users/" + service_user_id,
               {{"user", {{"enabled", true}}}}, admin);
  // Tokens issued in the revocation's second count as revoked too (Keystone
  // compares whole seconds): the conductor's next token must come from a
  // later second than the calls above.
  const auto revoked = std::chrono::system_clock::now();
  REQUIRE(WaitUntil([&] {
    return std::chrono::system_clock::now() >=
           std::chrono::floor<std::chrono::seconds>(revoked) +
               std::chrono::seconds(1);
  }));
  const std::string third = create_share();
  attach(third);
  CHECK(Count(stack.ConductorLog(), "Keystone issued a service token") == 2);
  // The password never reaches a log.
  CHECK(stack.Logs().find(Ks().keystone_password) == std::string::npos);
}
