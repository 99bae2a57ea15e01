// The server and instance-action bodies against Nova's own samples, per
// microversion and per caller (admin, project member): the same keys, and
// the same JSON type wherever the sample has a value.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/pg/store.h"
#include "tests/support/stack.h"

using namespace shareplane::testing;
using json = nlohmann::json;
using shareplane::HttpResponse;

namespace {

json NovaSample(const std::string& name) {
  std::ifstream in(SourcePath("tests/data/api_samples/nova/" + name));
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

std::set<std::string> Keys(const json& j) {
  std::set<std::string> out;
  for (auto& [k, v] : j.items()) out.insert(k);
  return out;
}

std::string Diff(const std::set<std::string>& want,
                 const std::set<std::string>& got) {
  std::string out;
  for (const auto& k : want) {
    if (!got.count(k)) out += " missing:" + k;
  }
  for (const auto& k : got) {
    if (!want.count(k)) out += " unexpected:" + k;
  }
  return out;
}

// Same keys; the same type where both have a value (null is "no value";
// free-form maps such as addresses and metadata are not compared inside).
void CheckLike(const json& sample, const json& ours, const std::string& what) {
  INFO(what << "\nours: " << ours.dump());
  CHECK(Diff(Keys(sample), Keys(ours)) == "");
  for (auto& [k, v] : sample.items()) {
    if (!ours.contains(k) || v.is_null() || ours[k].is_null()) continue;
    INFO(k);
    const bool both_numbers = v.is_number() && ours[k].is_number();
    CHECK((v.type() == ours[k].type() || both_numbers));
  }
}

HttpResponse Get(Stack& stack, const std::string& path,
                 const std::string& version, const std::string& token) {
  return Http("GET", stack.api_url() + path,
              {{"X-Auth-Token", token},
               {"OpenStack-API-Version", "compute " + version}});
}

}  // namespace

TEST_CASE("server bodies match Nova's samples per microversion",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const std::string id = stack.CreateServer("hv1", "active");
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec_params(
                    "UPDATE servers SET image_ref = $2, launched_at = now(), "
                    "pinned_availability_zone = 'nova' WHERE uuid = $1",
                    id, "70a599e0-31e7-49b7-b260-868f441e862b");
                return absl::OkStatus();
              })
              .ok());
  struct Case {
    std::string version, token;
  };
  // Nova's samples before 2.90 are an admin's view, later ones a member's.
  const std::vector<Case> shows = {
      {"2.1", "admin:demo"},  {"2.9", "admin:demo"},  {"2.16", "admin:demo"},
      {"2.19", "admin:demo"}, {"2.47", "admin:demo"}, {"2.63", "admin:demo"},
      {"2.71", "admin:demo"}, {"2.73", "admin:demo"}, {"2.90", "alice:demo"},
      {"2.96", "alice:demo"}};
  for (const Case& c : shows) {
    HttpResponse r = Get(stack, "/v2.1/servers/" + id, c.version, c.token);
    REQUIRE(r.status == 200);
    const json ours = json::parse(r.body)["server"];
    const json sample =
        NovaSample("server-get-resp-v" + c.version + ".json")["server"];
    CheckLike(sample, ours, "show at " + c.version);
    CheckLike(sample["flavor"], ours["flavor"], "flavor at " + c.version);
    CheckLike(sample["image"], ours["image"], "image at " + c.version);
  }
  for (const Case& c : std::vector<Case>{{"2.47", "admin:demo"},
                                         {"2.73", "admin:demo"},
                                         {"2.90", "alice:demo"},
                                         {"2.96", "alice:demo"}}) {
    HttpResponse r = Get(stack, "/v2.1/servers/detail", c.version, c.token);
    REQUIRE(r.status == 200);
    const json ours = json::parse(r.body)["servers"][0];
    const json sample = NovaSample("servers-details-resp-v" + c.version +
                                   ".json")["servers"][0];
    CheckLike(sample, ours, "detail at " + c.version);
  }
  // What OSC shows instead of None: launched_at, the hostname, the pin.
  const json s = json::parse(
      Get(stack, "/v2.1/servers/" + id, "2.96", "alice:demo").body)["server"];
  CHECK(s["OS-SRV-USG:launched_at"].is_string());
  CHECK(s["OS-EXT-SRV-ATTR:hostname"] == s["name"]);
  CHECK(s["pinned_availability_zone"] == "nova");
  CHECK(s["locked_reason"].is_null());
  CHECK(!s.contains("OS-EXT-SRV-ATTR:host"));
  const json admin = json::parse(
      Get(stack, "/v2.1/servers/" + id, "2.96", "admin:demo").body)["server"];
  CHECK(admin["OS-EXT-SRV-ATTR:host"] == "hv1");
  CHECK(admin["host_status"] == "UP");  // hv1 registered just now
}

TEST_CASE("instance-action events match Nova's samples per microversion",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const std::string id = stack.CreateServer("hv1", "stopped");
  const std::string request = "req-0d819d5c-1527-4669-bdf0-ffad31b5105b";
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                shareplane::InsertInstanceAction(w, request, id, "stop", "demo",
                                                 "alice");
                shareplane::RecordActionEvent(
                    w, id, request, "compute_stop_instance", "Success", "");
                return absl::OkStatus();
              })
              .ok());
  const std::string path =
      "/v2.1/servers/" + id + "/os-instance-actions/" + request;
  struct Case {
    std::string version, token, sample;
  };
  const std::vector<Case> cases = {
      {"2.21", "admin:demo", "instance-action-get-resp-v2.21.json"},
      {"2.51", "admin:demo", "instance-action-get-resp-v2.51.json"},
      {"2.51", "alice:demo", "instance-action-get-non-admin-resp-v2.51.json"},
      {"2.58", "admin:demo", "instance-action-get-resp-v2.58.json"},
      {"2.58", "alice:demo", "instance-action-get-non-admin-resp-v2.58.json"},
      {"2.62", "admin:demo", "instance-action-get-resp-v2.62.json"},
      {"2.62", "alice:demo", "instance-action-get-non-admin-resp-v2.62.json"},
      {"2.84", "admin:demo", "instance-action-get-resp-v2.84.json"},
      {"2.84", "alice:demo", "instance-action-get-non-admin-resp-v2.84.json"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Get(stack, path, c.version, c.token);
    REQUIRE(r.status == 200);
    const json ours = json::parse(r.body)["instanceAction"];
    const json sample = NovaSample(c.sample)["instanceAction"];
    CheckLike(sample, ours, c.sample);
    REQUIRE(ours["events"].size() == 1);
    CheckLike(sample["events"][0], ours["events"][0], c.sample + " event");
  }
  // Before 2.51 a member sees no events at all.
  const json old = json::parse(Get(stack, path, "2.21", "alice:demo").body);
  CHECK(!old["instanceAction"].contains("events"));
  // hostId is the server's, for the same host and project.
  const json event = json::parse(Get(stack, path, "2.84", "admin:demo")
                                     .body)["instanceAction"]["events"][0];
  const json server = json::parse(
      Get(stack, "/v2.1/servers/" + id, "2.84", "alice:demo").body)["server"];
  CHECK(event["host"] == "hv1");
  CHECK(event["hostId"] == server["hostId"]);
  CHECK(event["details"].is_null());
}
