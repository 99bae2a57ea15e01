// The compute API's contract as a client sees it: Nova's sample shapes,
// version documents and headers, faults for bad requests, policy files and
// recovery from a database outage.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/stack.h"
#include "tests/support/tcp_proxy.h"

using namespace shareplane::testing;
using json = nlohmann::json;
using shareplane::HttpResponse;

namespace {

json Sample(const std::string& name) {
  std::ifstream in(std::string(SHAREPLANE_SOURCE_DIR) +
                   "/tests/data/api_samples/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

// Same keys at every level, and the same JSON types.
bool SameShape(const json& a, const json& b, std::string& why,
               const std::string& path = "") {
  if (a.type() != b.type()) {
    why = path + ": " + a.type_name() + " vs " + b.type_name();
    return false;
  }
  if (a.is_object()) {
    for (auto& [k, v] : a.items()) {
      if (!b.contains(k)) {
        why = path + "/" + k + " missing";
        return false;
      }
      if (!SameShape(v, b[k], why, path + "/" + k)) return false;
    }
    for (auto& [k, v] : b.items()) {
      if (!a.contains(k)) {
        why = path + "/" + k + " unexpected";
        return false;
      }
    }
  }
  if (a.is_array() && !a.empty() && !b.empty()) {
    return SameShape(a[0], b[0], why, path + "[0]");
  }
  return true;
}

void CheckShape(const std::string& sample, const std::string& body) {
  std::string why;
  INFO(sample << ": " << body);
  CHECK(SameShape(Sample(sample), json::parse(body), why));
  INFO(why);
  CHECK(why.empty());
}

}  // namespace

TEST_CASE("share responses match Nova's samples field for field",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string a = stack.CreateShare(), b = stack.CreateShare();
  const std::string base = "/v2.1/servers/" + server + "/shares";
  HttpResponse r =
      stack.Api("POST", base, json{{"share", {{"share_id", a}}}}.dump());
  REQUIRE(r.status == 201);
  CheckShape("server-shares-create-resp.json", r.body);
  r = stack.Api("POST", base, json{{"share", {{"share_id", b}}}}.dump(),
                "admin:demo");
  REQUIRE(r.status == 201);
  CheckShape("server-shares-admin-create-resp.json", r.body);
  CheckShape("server-shares-show-resp.json",
             stack.Api("GET", base + "/" + a).body);
  CheckShape("server-shares-admin-show-resp.json",
             stack.Api("GET", base + "/" + a, "", "admin:demo").body);
  CheckShape("server-shares-list-resp.json", stack.Api("GET", base).body);
  // Admins never see uuid or export_location in the list.
  CheckShape("server-shares-list-resp.json",
             stack.Api("GET", base, "", "admin:demo").body);
  // The request samples are accepted as they are.
  const std::string c = stack.CreateShare();
  json req = Sample("server-shares-create-req.json");
  req["share"]["share_id"] = c;
  CHECK(stack.Api("POST", base, req.dump()).status == 201);
}

TEST_CASE("version documents, microversion headers and request ids",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  for (const char* path : {"/", "/v2.1", "/v2.1/"}) {
    INFO(path);
    HttpResponse r = Http("GET", stack.api_url() + path);  // no token
    REQUIRE(r.status == 200);
    json body = json::parse(r.body);
    json v = std::string(path) == "/" ? body["versions"][1] : body["version"];
    CHECK(v["id"] == "v2.1");
    CHECK(v["min_version"] == "2.1");
    CHECK(v["version"] == "2.97");
  }
  const std::string server = stack.CreateServer();
  const std::string path = "/v2.1/servers/" + server + "/shares";
  HttpResponse r = Http(
      "GET", stack.api_url() + path,
      {{"X-Auth-Token", "alice:demo"},
       {"X-OpenStack-Nova-API-Version", "latest"},
       {"X-Openstack-Request-Id", "req-00000000-1111-2222-3333-444444444444"}});
  CHECK(r.status == 200);
  CHECK(r.Header("OpenStack-API-Version") == "compute 2.97");
  CHECK(r.Header("X-OpenStack-Nova-API-Version") == "2.97");
  CHECK(r.Header("Vary").find("OpenStack-API-Version") != std::string::npos);
  CHECK(r.Header("x-openstack-request-id").rfind("req-", 0) == 0);
  CHECK(r.Header("x-compute-request-id") == r.Header("x-openstack-request-id"));
  CHECK(r.Header("X-Shareplane-Status-Code").empty());
  // The caller's request id is the one the logs carry.
  REQUIRE(WaitUntil([&] {
    return stack.Logs().find("[req-00000000-1111-2222-3333-444444444444]") !=
           std::string::npos;
  }));
  HttpResponse bad = Http("GET", stack.api_url() + path,
                          {{"X-Auth-Token", "alice:demo"},
                           {"OpenStack-API-Version", "compute 2.x"}});
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["badRequest"]["message"] ==
        "API Version String 2.x is of invalid format. Must be of format "
        "MajorNum.MinorNum.");
}

TEST_CASE("bad requests get faults in Nova's format", "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string shares = "/v2.1/servers/" + server + "/shares";
  struct Case {
    std::string name, method, path, body;
    int code;
    std::string fault;
  };
  std::vector<Case> cases = {
      {"malformed json", "POST", shares, "{not json", 400, "badRequest"},
      {"body too large", "POST", shares, std::string(1100000, 'x'), 413,
       "overLimit"},
      {"unknown route", "GET", "/v2.1/nothing-here", "", 404, "itemNotFound"},
      {"wrong method", "PUT", shares, "", 405, "badMethod"},
      {"unknown action", "POST", "/v2.1/servers/" + server + "/action",
       R"({"os-fly": null})", 400, "badRequest"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    HttpResponse r = stack.Api(c.method, c.path, c.body);
    CHECK(r.status == c.code);
    json body = json::parse(r.body, nullptr, false);
    CHECK(body.contains(c.fault));
  }
  HttpResponse anon = Http("GET", stack.api_url() + shares);
  CHECK(anon.status == 401);
}

TEST_CASE("a policy file overrides the default rules", "[integration][e2e]") {
  const std::string policy = WriteConfig(
      "\"os_compute_api:os-server-shares:create\": \"role:admin\"\n");
  Stack stack("[oslo_policy]\npolicy_file = " + policy + "\n");
  stack.StartEmulator();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string share = stack.CreateShare();
  HttpResponse r = stack.Api("POST", "/v2.1/servers/" + server + "/shares",
                             json{{"share", {{"share_id", share}}}}.dump());
  CHECK(r.status == 403);
  CHECK(json::parse(r.body)["forbidden"]["message"] ==
        "Policy doesn't allow os_compute_api:os-server-shares:create to be "
        "performed.");
  CHECK(stack.Api("GET", "/v2.1/servers/" + server + "/shares").status == 200);
}

TEST_CASE(
    "the API answers 503 while PostgreSQL is away and recovers by "
    "itself",
    "[integration][e2e]") {
  Stack stack;
  const std::string server = stack.CreateServer();
  // Point the API at a proxy in front of the test PostgreSQL.
  const int proxy_port = FreePort();
  std::string url = stack.database_url();
  const size_t colon = url.rfind(':'), slash = url.rfind('/');
  const int pg_port = std::stoi(url.substr(colon + 1, slash - colon - 1));
  url =
      url.substr(0, colon + 1) + std::to_string(proxy_port) + url.substr(slash);
  stack.SetExtraConfig("[database]\nconnection = " + url + "\n");
  stack.StartApi();
  const std::string path = "/v2.1/servers/" + server + "/shares";
  HttpResponse down = stack.Api("GET", path);
  CHECK(down.status == 503);
  // A fixed message and the request id; the cause only in the log.
  const json fault = json::parse(down.body)["serviceUnavailable"];
  CHECK(fault["code"] == 503);
  CHECK(fault["message"] ==
        "The server is currently unavailable. Please try again at a later "
        "time.");
  CHECK(fault["request_id"] == down.Header("x-openstack-request-id"));
  CHECK(down.body.find("atabase") == std::string::npos);
  CHECK(down.body.find("onnect") == std::string::npos);
  TcpProxy proxy(proxy_port, pg_port);
  proxy.Start();
  CHECK(stack.Api("GET", path).status == 200);
  proxy.Stop();  // the pooled connections break
  CHECK(stack.Api("GET", path).status == 503);
  TcpProxy again(proxy_port, pg_port);
  again.Start();
  CHECK(WaitUntil([&] { return stack.Api("GET", path).status == 200; }));
}
