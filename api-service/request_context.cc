#include "api-service/request_context.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace shareplane {

bool RequestContext::HasRole(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::StatusOr<ApiVersion> ParseApiVersion(const HttpRequest& request) {
  std::string raw;
  std::string header = request.Header("OpenStack-API-Version");
  for (absl::string_view item : absl::StrSplit(header, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (absl::ConsumePrefix(&item, "compute ")) {
      raw = std::string(absl::StripAsciiWhitespace(item));
    }
  }
  if (raw.empty()) {
    raw = std::string(absl::StripAsciiWhitespace(
        request.Header("X-OpenStack-Nova-API-Version")));
  }
  if (raw.empty()) return kMinApiVersion;
  if (absl::AsciiStrToLower(raw) == "latest") return kMaxApiVersion;
  std::vector<std::string> parts = absl::StrSplit(raw, '.');
  ApiVersion v;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &v.major) ||
      !absl::SimpleAtoi(parts[1], &v.minor) || parts[1].empty() ||
      !absl::ascii_isdigit(parts[1][0]) || v.major < 0 || v.minor < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("API Version String ", raw,
                     " is of invalid format. Must be of format "
                     "MajorNum.MinorNum."));
  }
  if (!v.AtLeast(kMinApiVersion.major, kMinApiVersion.minor) ||
      !kMaxApiVersion.AtLeast(v.major, v.minor)) {
    return absl::OutOfRangeError(absl::StrCat(
        "Version ", raw, " is not supported by the API. Minimum is ",
        kMinApiVersion.major, ".", kMinApiVersion.minor, " and maximum is ",
        kMaxApiVersion.major, ".", kMaxApiVersion.minor, "."));
  }
  return v;
}

absl::Status AuthenticateNoauth(const HttpRequest& request,
                                RequestContext& context) {
  std::string user = request.Header("X-Auth-User");
  std::string project = request.Header("X-Auth-Project-Id");
  std::string token = request.Header("X-Auth-Token");
  if (user.empty()) {
    if (token.empty()) {
      return absl::UnauthenticatedError("Authentication required");
    }
    std::vector<std::string> parts = absl::StrSplit(token, ':');
    user = parts[0];
    if (project.empty() && parts.size() > 1) project = parts[1];
  }
  context.user_id = user;
  context.project_id = project.empty() ? user : project;
  if (request.HasHeader("X-Roles")) {
    for (absl::string_view role :
         absl::StrSplit(request.Header("X-Roles"), ',', absl::SkipEmpty())) {
      context.roles.emplace_back(absl::StripAsciiWhitespace(role));
    }
  } else {
    context.roles = {"reader", "member"};
  }
  context.is_admin = context.user_id == "admin" || context.HasRole("admin");
  if (context.is_admin && !context.HasRole("admin")) {
    context.roles.push_back("admin");
  }
  // Forwarded to Manila: the emulator's noauth takes "user:project".
  context.auth_token =
      token.empty() ? context.user_id + ":" + context.project_id : token;
  return absl::OkStatus();
}

}  // namespace shareplane
