// A host's storage address is what Manila grants NFS access to: it cannot
// change under granted rules, and a revoke removes the rule that was
// granted, whatever the host's address is now.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/store.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

std::string StorageIp(Stack& stack) {
  std::optional<ComputeHost> h;
  (void)stack.db().Transact([&](pqxx::work& w) {
    h = GetComputeHost(w, "hv1");
    return absl::OkStatus();
  });
  return h ? h->storage_ip : "";
}

}  // namespace

TEST_CASE("a host cannot change the address its granted rules are for",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string id = stack.BootServer(/*stopped=*/true);
  const std::string share = stack.CreateShare();
  REQUIRE(stack
              .Api("POST", "/v2.1/servers/" + id + "/shares",
                   json{{"share", {{"share_id", share}}}}.dump())
              .status == 201);
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(id, share) == "inactive"; }));
  REQUIRE(stack.ManilaRules(share).size() == 1);
  CHECK(stack.ManilaRules(share)[0]["access_to"] == "192.0.2.10");

  // The agent comes back claiming another address: refused, and the host
  // keeps the one its rule is for.
  stack.StopCompute();
  stack.SetExtraConfig("[compute]\nstorage_ip = 192.0.2.77\n");
  stack.StartCompute();
  INFO(stack.Logs());
  REQUIRE(WaitUntil([&] {
    return stack.Logs().find(
               "The conductor refused this host: Host hv1 is "
               "registered with storage address 192.0.2.10") !=
           std::string::npos;
  }));
  CHECK(StorageIp(stack) == "192.0.2.10");

  // Had the address changed anyway (by hand in the database), the detach
  // still revokes the rule that was granted, by its recorded id.
  stack.StopCompute();
  stack.SetExtraConfig("");
  stack.StartCompute();
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec(
                    "UPDATE compute_hosts SET storage_ip = '192.0.2.78' "
                    "WHERE hostname = 'hv1'");
                return absl::OkStatus();
              })
              .ok());
  REQUIRE(
      stack.Api("DELETE", "/v2.1/servers/" + id + "/shares/" + share).status ==
      200);
  REQUIRE(WaitUntil([&] { return stack.ShareStatus(id, share).empty(); }));
  REQUIRE(WaitUntil([&] { return stack.ManilaRules(share).empty(); }));
  CHECK(stack.ManilaLocks(share).empty());

  // With nothing granted to it any more, the address may change.
  stack.StopCompute();
  stack.SetExtraConfig("[compute]\nstorage_ip = 192.0.2.77\n");
  stack.StartCompute();
  REQUIRE(WaitUntil([&] { return StorageIp(stack) == "192.0.2.77"; }));
}
