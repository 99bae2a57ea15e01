#include <catch2/catch.hpp>

#include "api-service/request_context.h"

using namespace shareplane;

namespace {
absl::StatusOr<ApiVersion> Parse(const std::string& header,
                                 const std::string& value) {
  HttpRequest r;
  r.headers[header] = value;
  return ParseApiVersion(r);
}
}  // namespace

TEST_CASE("microversions are read from either header", "[unit]") {
  auto v = Parse("openstack-api-version", "compute 2.97");
  REQUIRE(v.ok());
  CHECK((v->major == 2 && v->minor == 97));
  v = Parse("x-openstack-nova-api-version", "2.60");
  REQUIRE(v.ok());
  CHECK(v->minor == 60);
  v = Parse("openstack-api-version", "compute latest");
  REQUIRE(v.ok());
  CHECK(v->minor == kMaxApiVersion.minor);
  v = Parse("openstack-api-version", "volume 3.0, compute 2.5");
  REQUIRE(v.ok());
  CHECK(v->minor == 5);
  HttpRequest none;
  v = ParseApiVersion(none);
  REQUIRE(v.ok());
  CHECK(v->minor == 1);
}

TEST_CASE("out of range microversions are 406, malformed ones 400", "[unit]") {
  CHECK(Parse("openstack-api-version", "compute 2.200").status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(Parse("openstack-api-version", "compute 3.0").status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(Parse("openstack-api-version", "compute 2.0").status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(Parse("openstack-api-version", "compute 2.x").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Parse("openstack-api-version", "compute 2").status().code() ==
        absl::StatusCode::kInvalidArgument);
  auto s = Parse("openstack-api-version", "compute 2.200").status();
  CHECK(std::string(s.message()) ==
        "Version 2.200 is not supported by the API. Minimum is 2.1 and "
        "maximum is 2.97.");
}

TEST_CASE("noauth trusts user, project and roles headers", "[unit]") {
  HttpRequest r;
  r.headers["x-auth-user"] = "bob";
  r.headers["x-auth-project-id"] = "p1";
  r.headers["x-roles"] = "reader, member";
  RequestContext ctx;
  REQUIRE(AuthenticateNoauth(r, ctx).ok());
  CHECK(ctx.user_id == "bob");
  CHECK(ctx.project_id == "p1");
  CHECK(ctx.HasRole("member"));
  CHECK_FALSE(ctx.is_admin);

  HttpRequest admin;
  admin.headers["x-auth-user"] = "carol";
  admin.headers["x-roles"] = "admin";
  RequestContext actx;
  REQUIRE(AuthenticateNoauth(admin, actx).ok());
  CHECK(actx.is_admin);
  CHECK(actx.project_id == "carol");

  HttpRequest token;
  token.headers["x-auth-token"] = "admin:demo";
  RequestContext tctx;
  REQUIRE(AuthenticateNoauth(token, tctx).ok());
  CHECK(tctx.is_admin);
  CHECK(tctx.project_id == "demo");

  RequestContext none;
  CHECK(AuthenticateNoauth(HttpRequest{}, none).code() ==
        absl::StatusCode::kUnauthenticated);
}
