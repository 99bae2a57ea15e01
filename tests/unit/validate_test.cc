// Table tests of the service layer's pure validation, the one place each
// request's rules live for both fronts (REST parses its body into the same
// requests; gRPC builds them from protos).
#include <catch2/catch.hpp>

#include "api-service/servers_api.h"
#include "api-service/share_service.h"

using namespace shareplane;

namespace {

const std::string kId = "3cdf5132-64f2-4584-876a-bd296ae7eabd";

struct Expect {
  absl::StatusCode code;
  std::string message;  // a substring of the status message; "" when ok
};

void CheckStatus(const absl::Status& s, const Expect& e) {
  INFO(s);
  CHECK(s.code() == e.code);
  CHECK(std::string(s.message()).find(e.message) != std::string::npos);
}

}  // namespace

TEST_CASE("ValidateAttachShare applies the attach schema to typed fields",
          "[unit]") {
  struct Case {
    AttachShareRequest in;
    Expect expect;
    std::string share_id, tag;  // after validation, when ok
  };
  const std::string upper = "3CDF5132-64F2-4584-876A-BD296AE7EABD";
  const std::vector<Case> cases = {
      {{"s", kId, "", ""}, {absl::StatusCode::kOk, ""}, kId, kId},
      {{"s", kId, "", "ro"}, {absl::StatusCode::kOk, ""}, kId, kId},
      {{"s", kId, "", "rx"},
       {absl::StatusCode::kInvalidArgument, "field/attribute access_level"},
       "",
       ""},
      {{"s", upper, "data", ""}, {absl::StatusCode::kOk, ""}, kId, "data"},
      {{"s", "nope", "", ""},
       {absl::StatusCode::kInvalidArgument,
        "Invalid input for field/attribute share_id. Value: nope. 'nope' is "
        "not a 'uuid'"},
       "",
       ""},
      {{"s", "", "", ""},
       {absl::StatusCode::kInvalidArgument, "share_id"},
       "",
       ""},
      {{"s", kId, "a b", ""},
       {absl::StatusCode::kInvalidArgument, "tag"},
       "",
       ""},
      {{"s", kId, std::string(37, 'a'), ""},
       {absl::StatusCode::kInvalidArgument, "field/attribute tag"},
       "",
       ""},
  };
  for (const Case& c : cases) {
    INFO("share_id=" << c.in.share_id << " tag=" << c.in.tag);
    auto r = ValidateAttachShare(c.in);
    CheckStatus(r.status(), c.expect);
    if (r.ok()) {
      CHECK(r->share_id == c.share_id);
      CHECK(r->tag == c.tag);
      CHECK(r->server_id == "s");
      // Defaulted to read-write; "ro" kept.
      CHECK(r->access_level ==
            (c.in.access_level.empty() ? "rw" : c.in.access_level));
    }
  }
}

TEST_CASE("ValidateCreateServer applies the create schema and the zone rule",
          "[unit]") {
  struct Case {
    CreateServerRequest in;
    Expect expect;
    std::string flavor;  // the id it resolves to, when ok
  };
  const std::vector<Case> cases = {
      {{"vm", "1", "", ""}, {absl::StatusCode::kOk, ""}, "1"},
      {{"vm", "http://h/v2.1/flavors/7", "", "nova"},
       {absl::StatusCode::kOk, ""},
       "7"},
      {{"", "1", "", ""},
       {absl::StatusCode::kInvalidArgument,
        "Invalid input for field/attribute name"},
       ""},
      {{" vm", "1", "", ""},
       {absl::StatusCode::kInvalidArgument,
        "Invalid input for field/attribute name"},
       ""},
      {{"vm", "", "", ""},
       {absl::StatusCode::kInvalidArgument, "flavorRef"},
       ""},
      {{"vm", "1", "", "mars"},
       {absl::StatusCode::kInvalidArgument,
        "The requested availability zone is not available"},
       ""},
  };
  for (const Case& c : cases) {
    INFO("name='" << c.in.name << "' flavor=" << c.in.flavor_ref
                  << " az=" << c.in.availability_zone);
    auto r = ValidateCreateServer(c.in);
    CheckStatus(r.status(), c.expect);
    if (r.ok()) CHECK(r->flavor_ref == c.flavor);
  }
}

TEST_CASE("REST bodies become the same typed requests", "[unit]") {
  SECTION("create") {
    auto r = ParseCreateServerBody(
        R"({"server": {"name": "vm", "flavorRef": 2, "imageRef": "img"}})");
    REQUIRE(r.ok());
    CHECK(r->name == "vm");
    CHECK(r->flavor_ref == "2");
    CHECK(r->image_ref == "img");
    CheckStatus(
        ParseCreateServerBody(R"({"server": {"name": "vm", "flavorRef": "1", )"
                              R"("networks": "some"}})")
            .status(),
        {absl::StatusCode::kInvalidArgument,
         "must be 'auto', 'none' or a list"});
  }
  SECTION("actions") {
    struct Case {
      std::string body;
      Expect expect;
      std::string action;
      bool hard;
    };
    const std::vector<Case> cases = {
        {R"({"os-start": null})",
         {absl::StatusCode::kOk, ""},
         "os-start",
         false},
        {R"({"reboot": {"type": "hard"}})",
         {absl::StatusCode::kOk, ""},
         "reboot",
         true},
        {R"({"reboot": {"type": "SOFT"}})",
         {absl::StatusCode::kOk, ""},
         "reboot",
         false},
        {R"({"shelve": null})", {absl::StatusCode::kOk, ""}, "shelve", false},
        {R"({"fly": null})",
         {absl::StatusCode::kInvalidArgument, "There is no such action: fly"},
         "",
         false},
        {R"({"reboot": {"type": "sideways"}})",
         {absl::StatusCode::kInvalidArgument, "type"},
         "",
         false},
        {R"({"os-start": null, "os-stop": null})",
         {absl::StatusCode::kInvalidArgument, ""},
         "",
         false},
    };
    for (const Case& c : cases) {
      INFO(c.body);
      auto r = ParseActionBody("id", c.body);
      CheckStatus(r.status(), c.expect);
      if (r.ok()) {
        CHECK(r->server_id == "id");
        CHECK(r->action == c.action);
        CHECK(r->hard == c.hard);
      }
    }
  }
}
