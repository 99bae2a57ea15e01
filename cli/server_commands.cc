// server create, list, show, start, stop, reboot, delete and event list.
#include <set>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/wait.h"

namespace shareplane::cli {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string PowerState(int state) {
  switch (state) {
    case 1:
      return "Running";
    case 3:
      return "Paused";
    case 4:
      return "Shutdown";
    case 6:
      return "Crashed";
    case 7:
      return "Suspended";
    default:
      return "NOSTATE";
  }
}

std::string ImageCell(const json& image) {
  if (image.is_object()) return image.value("id", "");
  return "N/A (booted from volume)";
}

// A server as `server show` prints it: OSC's renames, sorted by field.
Record ServerRecord(const json& server) {
  std::map<std::string, ojson> fields;
  for (const auto& [k, v] : server.items()) {
    if (k == "links") continue;
    if (k == "tenant_id") {
      fields["project_id"] = Ordered(v);
    } else if (k == "OS-EXT-STS:power_state" && v.is_number_integer()) {
      fields[k] = PowerState(v.get<int>());
    } else if (k == "image") {
      fields[k] = ImageCell(v);
    } else if (k == "flavor" && v.is_object()) {
      ojson f = Ordered(v);
      f.erase("links");
      fields[k] =
          f.contains("original_name")
              ? ojson(absl::StrCat(f["original_name"].get<std::string>(), " (",
                                   Cell(f), ")"))
              : ojson(Cell(f));
    } else {
      fields[k] = Ordered(v);
    }
  }
  return Record(fields.begin(), fields.end());
}

}  // namespace

absl::Status ServerAction(Ctx& c, const json& action, const std::string& verb,
                          const std::set<std::string>& done) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  auto r = c.api.Call("POST", "/servers/" + id + "/action", action);
  if (!r.ok()) return r.status();
  if (!c.args.Has("--wait")) return absl::OkStatus();
  return WaitFor(c, "server " + verb, [&] { return ServerStatus(c, id); }, done,
                 {"ERROR", ""});
}

absl::Status ServerCreate(Ctx& c) {
  if (!c.args.Has("--flavor")) {
    return absl::InvalidArgumentError(
        "the following arguments are required: "
        "--flavor");
  }
  auto flavor = FindFlavor(c, c.args.Get("--flavor"));
  if (!flavor.ok()) return flavor.status();
  json server = {{"name", c.args.positional[0]},
                 {"flavorRef", (*flavor)["id"]},
                 {"networks", "none"}};
  if (c.args.Has("--image")) server["imageRef"] = c.args.Get("--image");
  if (c.args.Has("--availability-zone")) {
    server["availability_zone"] = c.args.Get("--availability-zone");
  }
  auto r = c.api.Call("POST", "/servers", json{{"server", server}});
  if (!r.ok()) return r.status();
  const std::string id = (*r)["server"]["id"];
  if (c.args.Has("--wait")) {
    absl::Status s =
        WaitFor(c, "server create", [&] { return ServerStatus(c, id); },
                {"ACTIVE"}, {"ERROR", ""});
    if (!s.ok()) return s;
  }
  auto shown = c.api.Call("GET", "/servers/" + id);
  if (!shown.ok()) return shown.status();
  json details = (*shown)["server"];
  details["adminPass"] = (*r)["server"].value("adminPass", "");
  return PrintRecord(ServerRecord(details), c.output, c.out);
}

absl::Status ServerList(Ctx& c) {
  auto r = c.api.Call(
      "GET", std::string("/servers/detail") +
                 (c.args.Has("--all-projects") ? "?all_tenants=1" : ""));
  if (!r.ok()) return r.status();
  Listing l{{"ID", "Name", "Status", "Networks", "Image", "Flavor"}, {}};
  if (c.args.Has("--all-projects")) l.columns.push_back("Project ID");
  for (const json& s : (*r)["servers"]) {
    std::string flavor;
    if (s.contains("flavor") && s["flavor"].is_object()) {
      flavor = s["flavor"].value("original_name",
                                 s["flavor"].value("id", std::string()));
    }
    std::vector<ojson> row = {
        s.value("id", ""),
        s.value("name", ""),
        s.value("status", ""),
        Cell(Ordered(s.value("addresses", json::object()))),
        ImageCell(s.value("image", json())),
        flavor};
    if (c.args.Has("--all-projects")) row.push_back(s.value("tenant_id", ""));
    l.rows.push_back(std::move(row));
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status ServerShow(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  return PrintRecord(ServerRecord(*server), c.output, c.out);
}

absl::Status ServerStart(Ctx& c) {
  return ServerAction(c, {{"os-start", nullptr}}, "start", {"ACTIVE"});
}

absl::Status ServerStop(Ctx& c) {
  return ServerAction(c, {{"os-stop", nullptr}}, "stop", {"SHUTOFF"});
}

absl::Status ServerReboot(Ctx& c) {
  return ServerAction(
      c, {{"reboot", {{"type", c.args.Has("--hard") ? "HARD" : "SOFT"}}}},
      "reboot", {"ACTIVE"});
}

absl::Status ServerDelete(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  auto r = c.api.Call("DELETE", "/servers/" + id);
  if (!r.ok()) return r.status();
  if (!c.args.Has("--wait")) return absl::OkStatus();
  return WaitFor(c, "server delete", [&] { return ServerStatus(c, id); }, {""},
                 {"ERROR"});
}

absl::Status ServerEventList(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  auto r = c.api.Call("GET", "/servers/" + (*server)["id"].get<std::string>() +
                                 "/os-instance-actions");
  if (!r.ok()) return r.status();
  const bool long_form = c.args.Has("--long");
  Listing l{{"Request ID", "Server ID", "Action", "Start Time"}, {}};
  if (long_form) {
    l.columns.insert(l.columns.end(), {"Message", "Project ID", "User ID"});
  }
  for (const json& a : (*r)["instanceActions"]) {
    std::vector<ojson> row = {a.value("request_id", ""),
                              a.value("instance_uuid", ""),
                              a.value("action", ""), a.value("start_time", "")};
    if (long_form) {
      row.insert(row.end(),
                 {Ordered(a.value("message", json())),
                  a.value("project_id", ""), a.value("user_id", "")});
    }
    l.rows.push_back(std::move(row));
  }
  return PrintListing(l, c.output, c.out);
}

}  // namespace shareplane::cli
