#include "api-service/request_context.h"

#include <algorithm>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/core/ids.h"

namespace shareplane {

bool RequestContext::HasRole(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

namespace {

// microversion_parse.check_standard_header: the last "<service> <version>"
// item of the folded header whose service is `compute` (any case).
std::string StandardHeaderVersion(const std::string& header) {
  std::vector<absl::string_view> items = absl::StrSplit(header, ',');
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    absl::string_view item = absl::StripAsciiWhitespace(*it);
    size_t space = item.find_first_of(" \t");
    if (space == absl::string_view::npos) continue;
    absl::string_view service = item.substr(0, space);
    absl::string_view version =
        absl::StripAsciiWhitespace(item.substr(space + 1));
    if (version.empty()) continue;
    if (absl::AsciiStrToLower(service) == "compute") {
      return std::string(version);
    }
  }
  return "";
}

// APIVersionRequest's ^([1-9]\d*)\.([1-9]\d*|0)$. A part too long for
// an int is a well-formed version beyond any range (INT_MAX).
bool ParseVersionString(absl::string_view raw, ApiVersion& v) {
  std::vector<absl::string_view> parts = absl::StrSplit(raw, '.');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return false;
  for (absl::string_view p : parts) {
    for (char c : p) {
      if (!absl::ascii_isdigit(c)) return false;
    }
  }
  if (parts[0][0] == '0' || (parts[1][0] == '0' && parts[1].size() > 1)) {
    return false;
  }
  if (!absl::SimpleAtoi(parts[0], &v.major)) v.major = INT_MAX;
  if (!absl::SimpleAtoi(parts[1], &v.minor)) v.minor = INT_MAX;
  return true;
}

// For messages: the header as given, with anything but printable ASCII
// shown as '?', at most 64 characters.
std::string Printable(absl::string_view raw) {
  std::string out;
  for (char c : raw.substr(0, 64)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

}  // namespace

absl::StatusOr<ApiVersion> ParseApiVersion(const HttpRequest& request) {
  // As Nova's microversion_parse.get_version(headers, 'compute',
  // legacy_headers=['X-OpenStack-Nova-API-Version']): the standard header
  // first, the legacy one (its last comma-separated value) if the standard
  // one names no compute version.
  std::string raw =
      StandardHeaderVersion(request.Header("OpenStack-API-Version"));
  if (raw.empty() && request.HasHeader("X-OpenStack-Nova-API-Version")) {
    const std::string legacy = request.Header("X-OpenStack-Nova-API-Version");
    std::vector<absl::string_view> values = absl::StrSplit(legacy, ',');
    raw = std::string(absl::StripAsciiWhitespace(values.back()));
  }
  // No header at all: 2.1. A legacy header whose (last) value is empty is
  // an empty version string, which Nova refuses as malformed.
  if (raw.empty() && !request.HasHeader("X-OpenStack-Nova-API-Version")) {
    return kMinApiVersion;
  }
  if (raw == "latest") return kMaxApiVersion;
  ApiVersion v;
  if (!ParseVersionString(raw, v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("API Version String ", Printable(raw),
                     " is of invalid format. Must be of format "
                     "MajorNum.MinorNum."));
  }
  if (!v.AtLeast(kMinApiVersion.major, kMinApiVersion.minor) ||
      !kMaxApiVersion.AtLeast(v.major, v.minor)) {
    return absl::OutOfRangeError(absl::StrCat(
        "Version ", Printable(raw), " is not supported by the API. Minimum is ",
        kMinApiVersion.major, ".", kMinApiVersion.minor, " and maximum is ",
        kMaxApiVersion.major, ".", kMaxApiVersion.minor, "."));
  }
  return v;
}

RequestContext NewRequestContext(const std::string& global_request_id) {
  RequestContext ctx;
  ctx.request_id = NewRequestId();
  if (IsRequestId(global_request_id)) {
    ctx.global_request_id = global_request_id;
  }
  return ctx;
}

Credentials CredentialsFrom(const HttpRequest& request) {
  Credentials c;
  c.auth_token = request.Header("X-Auth-Token");
  c.service_token = request.Header("X-Service-Token");
  c.user = request.Header("X-Auth-User");
  c.project_id = request.Header("X-Auth-Project-Id");
  if (request.HasHeader("X-Roles")) c.roles = request.Header("X-Roles");
  return c;
}

absl::Status AuthenticateNoauth(const HttpRequest& request,
                                RequestContext& context) {
  return AuthenticateNoauth(CredentialsFrom(request), context);
}

absl::Status AuthenticateNoauth(const Credentials& credentials,
                                RequestContext& context) {
  std::string user = credentials.user;
  std::string project = credentials.project_id;
  const std::string& token = credentials.auth_token;
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
  if (credentials.roles) {
    for (absl::string_view role :
         absl::StrSplit(*credentials.roles, ',', absl::SkipEmpty())) {
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
