// Table-driven checks of the attach request schema (spec section 1, check 1).
#include <catch2/catch.hpp>

#include "api-service/shares_api.h"

using shareplane::ParseAttachBody;

namespace {
const std::string kId = "3cdf5132-64f2-4584-876a-bd296ae7eabd";
}

TEST_CASE("valid attach bodies give share id and tag", "[unit]") {
  auto r = ParseAttachBody(R"({"share": {"share_id": ")" + kId +
                           R"(", "tag": "my-share"}})");
  REQUIRE(r.ok());
  CHECK(r->share_id == kId);
  CHECK(r->tag == "my-share");
  CHECK(r->access_level == "rw");

  auto d = ParseAttachBody(R"({"share": {"share_id": ")" + kId + R"("}})");
  REQUIRE(d.ok());
  CHECK(d->tag == kId);  // tag defaults to the share id

  auto upper = ParseAttachBody(
      R"({"share": {"share_id": "3CDF5132-64F2-4584-876A-BD296AE7EABD"}})");
  REQUIRE(upper.ok());
  CHECK(upper->share_id == kId);

  // The read-only extension (BEYOND.md section 3).
  auto ro = ParseAttachBody(R"({"share": {"share_id": ")" + kId +
                            R"(", "access_level": "ro"}})");
  REQUIRE(ro.ok());
  CHECK(ro->access_level == "ro");
}

TEST_CASE("invalid attach bodies are refused with Nova's message", "[unit]") {
  struct Case {
    std::string body;
    std::string expected;
  };
  const std::string tag37(37, 'a');
  std::vector<Case> cases = {
      {"not json", "Malformed request body"},
      {"{}", "'share' is a required property"},
      {R"({"share": "x"})", "is not of type 'object'"},
      {R"({"share": {}})", "'share_id' is a required property"},
      {R"({"share": {"share_id": "nope"}})",
       "Invalid input for field/attribute share_id. Value: nope. 'nope' is "
       "not a 'uuid'"},
      {R"({"share": {"share_id": 5}})", "is not a 'uuid'"},
      {R"({"share": {"share_id": ")" + kId + R"(", "tag": "a b"}})",
       "Invalid input for field/attribute tag. Value: a b."},
      {R"({"share": {"share_id": ")" + kId + R"(", "tag": ""}})",
       "does not match"},
      {R"({"share": {"share_id": ")" + kId + R"(", "tag": ")" + tag37 +
           R"("}})",
       "does not match"},
      {R"({"share": {"share_id": ")" + kId + R"(", "tag": 7}})",
       "is not of type 'string'"},
      {R"({"share": {"share_id": ")" + kId + R"(", "mode": "ro"}})",
       "Additional properties are not allowed ('mode' was unexpected)"},
      {R"({"share": {"share_id": ")" + kId + R"(", "access_level": "rx"}})",
       "Invalid input for field/attribute access_level. Value: rx. 'rx' is "
       "not one of ['rw', 'ro']"},
      {R"({"share": {"share_id": ")" + kId + R"(", "access_level": 1}})",
       "is not of type 'string'"},
      {R"({"share": {"share_id": ")" + kId + R"("}, "x": 1})",
       "Additional properties are not allowed ('x' was unexpected)"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = ParseAttachBody(c.body);
    REQUIRE(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(r.status().message()).find(c.expected) !=
          std::string::npos);
  }
}

TEST_CASE("tags of 1 to 36 letters, digits and dashes are valid", "[unit]") {
  CHECK(shareplane::IsValidTag("a"));
  CHECK(shareplane::IsValidTag(std::string(36, 'Z')));
  CHECK(shareplane::IsValidTag("data-01"));
  CHECK_FALSE(shareplane::IsValidTag("under_score"));
  CHECK_FALSE(shareplane::IsValidTag("dot.ted"));
}
