// server migrate, resize (confirm, revert), evacuate, shelve, unshelve,
// rebuild and migration list; compute service set.
#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/wait.h"

namespace shareplane::cli {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

}  // namespace

absl::Status ServerMigrate(Ctx& c) {
  json body = nullptr;
  if (c.args.Has("--host")) body = {{"host", c.args.Get("--host")}};
  return ServerAction(c, {{"migrate", body}}, "migrate", {"VERIFY_RESIZE"});
}

absl::Status ServerResize(Ctx& c) {
  if (!c.args.Has("--flavor")) {
    return absl::InvalidArgumentError(
        "the following arguments are required: --flavor");
  }
  auto flavor = FindFlavor(c, c.args.Get("--flavor"));
  if (!flavor.ok()) return flavor.status();
  return ServerAction(c, {{"resize", {{"flavorRef", (*flavor)["id"]}}}},
                      "resize", {"VERIFY_RESIZE"});
}

absl::Status ServerResizeConfirm(Ctx& c) {
  return ServerAction(c, {{"confirmResize", nullptr}}, "resize confirm",
                      {"ACTIVE", "SHUTOFF"});
}

absl::Status ServerResizeRevert(Ctx& c) {
  return ServerAction(c, {{"revertResize", nullptr}}, "resize revert",
                      {"ACTIVE", "SHUTOFF"});
}

absl::Status ServerEvacuate(Ctx& c) {
  json body = json::object();
  if (c.args.Has("--host")) body["host"] = c.args.Get("--host");
  if (c.args.Has("--password")) body["adminPass"] = c.args.Get("--password");
  return ServerAction(c, {{"evacuate", body}}, "evacuate",
                      {"ACTIVE", "SHUTOFF"});
}

absl::Status ServerShelve(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  auto status = [&] { return ServerStatus(c, id); };
  auto act = [&](const char* action) {
    return c.api
        .Call("POST", "/servers/" + id + "/action", json{{action, nullptr}})
        .status();
  };
  // --offload asks for it where shelved servers stay on their host (one
  // that offloads at once is SHELVED_OFFLOADED already), after the shelve
  // ended: an offload asked during it would be refused.
  const bool offload = c.args.Has("--offload");
  absl::Status s = act("shelve");
  if (!s.ok() || (!offload && !c.args.Has("--wait"))) return s;
  s = WaitFor(c, "server shelve", status, {"SHELVED", "SHELVED_OFFLOADED"},
              {"ERROR", ""});
  if (!s.ok() || !offload) return s;
  auto now = status();
  if (!now.ok() || *now == "SHELVED_OFFLOADED") return now.status();
  s = act("shelveOffload");
  if (!s.ok() || !c.args.Has("--wait")) return s;
  return WaitFor(c, "server shelve offload", status, {"SHELVED_OFFLOADED"},
                 {"ERROR", ""});
}

absl::Status ServerUnshelve(Ctx& c) {
  return ServerAction(c, {{"unshelve", nullptr}}, "unshelve", {"ACTIVE"});
}

absl::Status ServerRebuild(Ctx& c) {
  if (!c.args.Has("--image")) {
    return absl::InvalidArgumentError(
        "the following arguments are required: --image");
  }
  json body = {{"imageRef", c.args.Get("--image")}};
  if (c.args.Has("--name")) body["name"] = c.args.Get("--name");
  return ServerAction(c, {{"rebuild", body}}, "rebuild", {"ACTIVE", "SHUTOFF"});
}

absl::Status MigrationList(Ctx& c) {
  std::string path = "/os-migrations";
  if (c.args.Has("--server")) {
    auto server = FindServer(c, c.args.Get("--server"));
    if (!server.ok()) return server.status();
    path += "?instance_uuid=" + (*server)["id"].get<std::string>();
  }
  auto r = c.api.Call("GET", path);
  if (!r.ok()) return r.status();
  Listing l{{"Id", "UUID", "Source Node", "Dest Node", "Server UUID",
             "Old Flavor", "New Flavor", "Type", "Status", "Created At"},
            {}};
  for (const json& m : (*r)["migrations"]) {
    l.rows.push_back({m.value("id", 0), m.value("uuid", ""),
                      m.value("source_compute", ""),
                      m.value("dest_compute", ""), m.value("instance_uuid", ""),
                      Ordered(m.value("old_instance_type_id", json())),
                      Ordered(m.value("new_instance_type_id", json())),
                      m.value("migration_type", ""), m.value("status", ""),
                      m.value("created_at", "")});
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status ServiceSet(Ctx& c) {
  const std::string& host = c.args.positional[0];
  const std::string& binary = c.args.positional[1];
  auto list = c.api.Call("GET", "/os-services");
  if (!list.ok()) return list.status();
  std::optional<json> service;
  for (const json& s : (*list)["services"]) {
    if (s.value("host", "") == host &&
        (s.value("binary", "") == binary || binary == "nova-compute")) {
      service = s;
    }
  }
  if (!service) {
    return absl::NotFoundError(absl::StrCat("Compute service for host ", host,
                                            " and binary ", binary,
                                            " not found."));
  }
  json body = json::object();
  if (c.args.Has("--down")) body["forced_down"] = true;
  if (c.args.Has("--up")) body["forced_down"] = false;
  if (c.args.Has("--disable")) body["status"] = "disabled";
  if (c.args.Has("--enable")) body["status"] = "enabled";
  const json& id = (*service)["id"];
  auto r = c.api.Call(
      "PUT",
      absl::StrCat("/os-services/",
                   id.is_string() ? id.get<std::string>() : id.dump()),
      body);
  return r.status();
}

}  // namespace shareplane::cli
