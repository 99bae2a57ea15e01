#include "cli/client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/core/clock.h"
#include "common/core/config.h"
#include "common/core/json_body.h"
#include "common/http/http.h"
#include "common/openstack/keystone.h"

namespace shareplane::cli {
namespace {

using json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status CodeFor(int http, const std::string& message) {
  switch (http) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
      return absl::UnauthenticatedError(message);
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return absl::FailedPreconditionError(message);
    default:
      return http >= 500 ? absl::UnavailableError(message)
                         : absl::UnknownError(message);
  }
}

}  // namespace

std::string MaskSecret(const std::string& secret) {
  return "{SHA256}" + TokenDigest(secret);
}

absl::StatusOr<std::map<std::string, std::string>> ParseCloudsYaml(
    const std::string& text, const std::string& cloud) {
  // Block mappings only ("key: value" and "key:" opening a nested map),
  // which is what clouds.yaml uses for the keys read here.
  std::vector<std::pair<size_t, std::string>> path;  // indent, key
  std::map<std::string, std::string> out;
  const std::string prefix = "clouds." + cloud + ".";
  bool found = false;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    absl::string_view line = raw;
    if (size_t hash = line.find(" #"); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    if (absl::StripAsciiWhitespace(line).empty() ||
        absl::StripAsciiWhitespace(line)[0] == '#' ||
        absl::StartsWith(absl::StripAsciiWhitespace(line), "---")) {
      continue;
    }
    const size_t indent = line.find_first_not_of(' ');
    absl::string_view body = line.substr(indent);
    const size_t colon = body.find(':');
    if (colon == absl::string_view::npos) continue;  // list items etc.
    while (!path.empty() && path.back().first >= indent) path.pop_back();
    const std::string key = StripQuotes(body.substr(0, colon));
    const std::string value = StripQuotes(body.substr(colon + 1));
    std::string full;
    for (const auto& [i, k] : path) full += k + ".";
    full += key;
    if (value.empty()) {
      path.emplace_back(indent, key);
      if (full + "." == prefix) found = true;
      continue;
    }
    if (absl::StartsWith(full, prefix)) {
      found = true;
      out[full.substr(prefix.size())] = value;
    }
  }
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("Cloud ", cloud, " was not found in clouds.yaml"));
  }
  return out;
}

namespace {

std::string EnvValue(const std::map<std::string, std::string>& env,
                     const std::string& key) {
  auto it = env.find(key);
  return it == env.end() ? "" : it->second;
}

// The settings of the cloud --os-cloud or OS_CLOUD names, from the first
// clouds.yaml found; none when no cloud is named.
absl::StatusOr<std::map<std::string, std::string>> ReadCloud(
    const std::map<std::string, std::string>& options,
    const std::map<std::string, std::string>& env) {
  std::string cloud =
      options.count("cloud") ? options.at("cloud") : EnvValue(env, "OS_CLOUD");
  if (cloud.empty()) return std::map<std::string, std::string>();
  const std::string home = EnvValue(env, "HOME");
  std::string text;
  for (const std::string& path :
       {std::string("clouds.yaml"), home + "/.config/openstack/clouds.yaml",
        std::string("/etc/openstack/clouds.yaml")}) {
    text = ReadFile(path);
    if (!text.empty()) break;
  }
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Cloud ", cloud, " was requested but no clouds.yaml was found"));
  }
  return ParseCloudsYaml(text, cloud);
}

// The auth type named (its aliases mapped to password, token, noauth), or
// when none is, the one the credentials imply.
std::string AuthType(std::string type, const Credentials& c) {
  if (type.empty()) {
    type = !c.application_credential_id.empty() ? "v3applicationcredential"
           : !c.token.empty()                   ? "token"
           : !c.auth_url.empty()                ? "password"
                                                : "noauth";
  }
  if (type == "none" || type == "noauth2") type = "noauth";
  if (type == "v3password") type = "password";
  if (type == "v3token") type = "token";
  return type;
}

// Whether the credentials have what their auth type needs.
absl::Status ValidateCredentials(const Credentials& c) {
  const std::string& type = c.auth_type;
  if (type == "noauth" || type == "token") {
    if (c.endpoint.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Auth type ", type,
          " needs the compute endpoint: set --os-endpoint or OS_ENDPOINT "
          "(e.g. http://127.0.0.1:8774/v2.1)"));
    }
    if (type == "noauth" && c.username.empty()) {
      return absl::InvalidArgumentError(
          "Set --os-username and --os-project-name (OS_USERNAME, "
          "OS_PROJECT_NAME) for noauth");
    }
    if (type == "token" && c.token.empty()) {
      return absl::InvalidArgumentError("Set --os-token or OS_TOKEN");
    }
    return absl::OkStatus();
  }
  if (type != "password" && type != "v3applicationcredential") {
    return absl::InvalidArgumentError(
        absl::StrCat("Unsupported auth type ", type,
                     " (password, v3applicationcredential, token, noauth)"));
  }
  if (c.auth_url.empty()) {
    return absl::InvalidArgumentError(
        "Missing value auth-url required for auth plugin password: set "
        "--os-auth-url or OS_AUTH_URL (or OS_CLOUD with clouds.yaml)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Credentials> LoadCredentials(
    const std::map<std::string, std::string>& options,
    const std::map<std::string, std::string>& env) {
  auto read = ReadCloud(options, env);
  if (!read.ok()) return read.status();
  const std::map<std::string, std::string>& file = *read;
  // option > OS_<NAME> > clouds.yaml (auth.<name> or <name>) > default.
  auto pick = [&](const std::string& name, const std::string& fallback) {
    if (auto it = options.find(name); it != options.end()) return it->second;
    std::string v = EnvValue(env, "OS_" + absl::AsciiStrToUpper(name));
    if (!v.empty()) return v;
    if (auto it = file.find("auth." + name); it != file.end()) {
      return it->second;
    }
    if (auto it = file.find(name); it != file.end()) return it->second;
    return fallback;
  };
  Credentials c;
  c.auth_url = pick("auth_url", "");
  c.username = pick("username", "");
  c.password = pick("password", "");
  c.project_name = pick("project_name", pick("tenant_name", ""));
  c.user_domain_name = pick("user_domain_name", "Default");
  c.project_domain_name = pick("project_domain_name", "Default");
  c.application_credential_id = pick("application_credential_id", "");
  c.application_credential_secret = pick("application_credential_secret", "");
  c.token = pick("token", "");
  c.region_name = pick("region_name", "");
  c.interface = pick("interface", "public");
  c.endpoint = pick("endpoint", pick("compute_endpoint", ""));
  c.compute_api_version = pick("compute_api_version", "2.97");
  c.auth_type = AuthType(pick("auth_type", ""), c);
  absl::Status valid = ValidateCredentials(c);
  if (!valid.ok()) return valid;
  return c;
}

ComputeClient::ComputeClient(Credentials credentials, std::ostream* debug)
    : credentials_(std::move(credentials)), debug_(debug) {}
ComputeClient::~ComputeClient() = default;

absl::Status ComputeClient::Connect() {
  if (!base_url_.empty()) return absl::OkStatus();
  const Credentials& c = credentials_;
  if (c.auth_type == "noauth" || c.auth_type == "token") {
    token_ = c.auth_type == "token"
                 ? c.token
                 : c.username + ":" +
                       (c.project_name.empty() ? c.username : c.project_name);
    base_url_ = c.endpoint;
  } else {
    KeystoneOptions o;
    o.auth_url = c.auth_url;
    o.auth_type = c.auth_type;
    o.username = c.username;
    o.password = c.password;
    o.user_domain_name = c.user_domain_name;
    o.project_name = c.project_name;
    o.project_domain_name = c.project_domain_name;
    o.application_credential_id = c.application_credential_id;
    o.application_credential_secret = c.application_credential_secret;
    o.region_name = c.region_name;
    o.interface = c.interface;
    if (debug_) {
      o.debug = [this](const std::string& line) { *debug_ << line << "\n"; };
    }
    keystone_ = std::make_unique<KeystoneSession>(o, *RealClock::Get());
    auto token = keystone_->Token();
    if (!token.ok()) {
      if (token.status().code() == absl::StatusCode::kUnauthenticated) {
        return absl::UnauthenticatedError(
            "The request you have made requires authentication. (HTTP 401)");
      }
      return token.status();
    }
    token_ = *token;
    if (!c.endpoint.empty()) {
      base_url_ = c.endpoint;
    } else {
      auto endpoint = keystone_->Endpoint({"compute"});
      if (!endpoint.ok()) {
        return absl::NotFoundError(absl::StrCat(
            c.interface, " endpoint for compute service",
            c.region_name.empty() ? "" : " in " + c.region_name + " region",
            " not found"));
      }
      base_url_ = *endpoint;
    }
  }
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  if (debug_) *debug_ << "Compute endpoint: " << base_url_ << "\n";
  return absl::OkStatus();
}

absl::StatusOr<json> ComputeClient::Call(const std::string& method,
                                         const std::string& path,
                                         const json& body) {
  if (absl::Status s = Connect(); !s.ok()) return s;
  HttpClientRequest req;
  req.method = method;
  req.url = base_url_ + path;
  req.timeout = std::chrono::seconds(60);
  req.headers = {
      {"X-Auth-Token", token_},
      {"Accept", "application/json"},
      {"User-Agent", "shareplane-cli"},
      {"OpenStack-API-Version", "compute " + credentials_.compute_api_version},
      {"X-OpenStack-Nova-API-Version", credentials_.compute_api_version}};
  if (!body.is_null()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body.dump();
  }
  if (debug_) {
    *debug_ << "REQ: curl -g -i -X " << method << " " << req.url;
    for (const auto& [k, v] : req.headers) {
      *debug_ << " -H \"" << k << ": "
              << (k == "X-Auth-Token" ? MaskSecret(v) : v) << "\"";
    }
    if (!req.body.empty()) *debug_ << " -d '" << req.body << "'";
    *debug_ << "\n";
  }
  auto resp = HttpFetch(req);
  if (!resp.ok()) {
    return absl::UnavailableError(
        absl::StrCat("Unable to establish connection to ", req.url, ": ",
                     resp.status().message()));
  }
  if (debug_) {
    *debug_ << "RESP: [" << resp->status << "]";
    for (const auto& [k, v] : resp->headers) *debug_ << " " << k << ": " << v;
    *debug_ << "\nRESP BODY: " << resp->body << "\n";
  }
  json decoded =
      resp->body.empty()
          ? json()
          : ParseJson(resp->body).value_or(json(json::value_t::discarded));
  if (resp->status >= 400) {
    std::string message = resp->body;
    if (decoded.is_object() && !decoded.empty() &&
        decoded.begin()->is_object()) {
      message = decoded.begin()->value("message", message);
    }
    std::string id = resp->Header("x-openstack-request-id");
    return CodeFor(resp->status,
                   absl::StrCat(message, " (HTTP ", resp->status, ")",
                                id.empty() ? "" : " (Request-ID: " + id + ")"));
  }
  return decoded.is_discarded() ? json() : decoded;
}

}  // namespace shareplane::cli
