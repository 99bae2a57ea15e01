#include "api-service/policy.h"

#include <catch2/catch.hpp>

using namespace shareplane;

namespace {
RequestContext Ctx(const std::string& user, const std::string& project,
                   std::vector<std::string> roles) {
  RequestContext c;
  c.user_id = user;
  c.project_id = project;
  c.roles = std::move(roles);
  c.is_admin = c.HasRole("admin");
  return c;
}
}  // namespace

TEST_CASE("default share policies follow the spec's table", "[unit]") {
  Policy p = Policy::Defaults();
  auto member = Ctx("alice", "demo", {"reader", "member"});
  auto reader = Ctx("rita", "demo", {"reader"});
  auto admin = Ctx("root", "ops", {"admin"});
  const std::string create = "os_compute_api:os-server-shares:create";
  const std::string index = "os_compute_api:os-server-shares:index";
  CHECK(p.Allows(create, member, "demo"));
  CHECK_FALSE(p.Allows(create, member, "other"));
  CHECK_FALSE(p.Allows(create, reader, "demo"));
  CHECK(p.Allows(index, reader, "demo"));
  CHECK(p.Allows(create, admin, "demo"));
  CHECK_FALSE(p.Allows("os_compute_api:os-services:list", member, "demo"));
  CHECK(p.Allows("os_compute_api:os-services:list", admin, ""));
  absl::Status s = p.Enforce(create, reader, "demo");
  CHECK(std::string(s.message()) ==
        "Policy doesn't allow os_compute_api:os-server-shares:create to be "
        "performed.");
}

TEST_CASE("policy files override rules, in JSON or YAML", "[unit]") {
  std::map<std::string, std::string> rules;
  REQUIRE(Policy::ParseFile(
              "# comment\n\"os_compute_api:os-server-shares:create\": "
              "\"role:admin\"\nfoo: 'not role:x and (@ or !)'\n",
              rules)
              .ok());
  CHECK(rules["os_compute_api:os-server-shares:create"] == "role:admin");
  CHECK(rules["foo"] == "not role:x and (@ or !)");
  rules.clear();
  REQUIRE(Policy::ParseFile(R"({"a": "role:member", "b": "!"})", rules).ok());
  CHECK(rules["b"] == "!");
  CHECK_FALSE(Policy::ParseFile(R"({"a": 1})", rules).ok());
}
