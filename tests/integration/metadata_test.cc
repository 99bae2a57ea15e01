// The metadata API: a guest's signed request lists its shares with their
// current tags; unsigned, wrongly signed and other-tenant requests are
// refused; a deleted server is 404.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "api-service/metadata_api.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

TEST_CASE("the metadata API lists a signed guest's shares",
          "[integration][e2e]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string other = stack.CreateServer();
  const std::string data = stack.CreateShare(), logs = stack.CreateShare();
  for (const auto& [share, tag] :
       {std::pair{data, std::string("data")}, std::pair{logs, std::string()}}) {
    json body = {{"share", {{"share_id", share}}}};
    if (!tag.empty()) body["share"]["tag"] = tag;
    REQUIRE(
        stack.Api("POST", "/v2.1/servers/" + server + "/shares", body.dump())
            .status == 201);
  }
  auto get = [&](const std::string& path, const std::string& id,
                 const std::string& signature, const std::string& tenant = "") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!id.empty()) headers.emplace_back("X-Instance-ID", id);
    if (!signature.empty()) {
      headers.emplace_back("X-Instance-ID-Signature", signature);
    }
    if (!tenant.empty()) headers.emplace_back("X-Tenant-ID", tenant);
    return Http("GET", stack.metadata_url() + path, headers);
  };
  const std::string sig = MetadataSignature("test-metadata-secret", server);

  HttpResponse versions = get("/openstack", server, sig);
  REQUIRE(versions.status == 200);
  CHECK(versions.body.find("2025-04-04\nlatest") != std::string::npos);

  for (const char* version : {"latest", "2025-04-04"}) {
    INFO(version);
    HttpResponse r =
        get(std::string("/openstack/") + version + "/meta_data.json", server,
            sig, "demo");
    REQUIRE(r.status == 200);
    json doc = json::parse(r.body);
    CHECK(doc["uuid"] == server);
    CHECK(doc["project_id"] == "demo");
    REQUIRE(doc["devices"].size() == 2);
    std::map<std::string, std::string> tags;
    for (const json& d : doc["devices"]) {
      CHECK(d["type"] == "share");
      CHECK(d["bus"] == "none");
      CHECK(d["address"] == "none");
      tags[d["share_id"]] = d["tag"];
    }
    CHECK(tags[data] == "data");
    CHECK(tags[logs] == logs);  // the default tag is the share id
  }
  // Older versions predate device metadata.
  CHECK_FALSE(
      json::parse(get("/openstack/2013-04-04/meta_data.json", server, sig).body)
          .contains("devices"));

  // Refused: unsigned, wrongly signed, another instance's signature, another
  // tenant; unknown versions are 404.
  const std::string path = "/openstack/latest/meta_data.json";
  CHECK(get(path, server, "").status == 403);
  CHECK(get(path, "", "").status == 403);
  CHECK(get(path, server, std::string(64, '0')).status == 403);
  CHECK(get(path, server, MetadataSignature("wrong-secret", server)).status ==
        403);
  CHECK(get(path, server, MetadataSignature("test-metadata-secret", other))
            .status == 403);
  CHECK(get(path, server, sig, "other-project").status == 403);
  CHECK(get("/openstack/1999-01-01/meta_data.json", server, sig).status == 404);

  // A deleted server is 404.
  REQUIRE(stack.db()
              .Transact([&](pqxx::work& w) {
                w.exec_params(
                    "UPDATE servers SET deleted_at = now() WHERE uuid = $1",
                    server);
                return absl::OkStatus();
              })
              .ok());
  CHECK(get(path, server, sig).status == 404);
}
