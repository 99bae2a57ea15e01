// server add share, server remove share, server share list, server share
// show.
#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/wait.h"

namespace shareplane::cli {

using json = nlohmann::json;

absl::Status ServerAddShare(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  json share = {{"share_id", c.args.positional[1]}};
  if (c.args.Has("--tag")) share["tag"] = c.args.Get("--tag");
  if (c.args.Has("--read-only")) share["access_level"] = "ro";
  auto r =
      c.api.Call("POST", "/servers/" + id + "/shares", json{{"share", share}});
  if (!r.ok()) return r.status();
  json result = (*r)["share"];
  if (c.args.Has("--wait")) {
    const std::string share_id = c.args.positional[1];
    absl::Status s = WaitFor(c, "share attachment",
                             [&] { return ShareStatus(c, id, share_id); },
                             {"inactive", "active"}, {"error", ""});
    if (!s.ok()) return s;
    auto shown =
        c.api.Call("GET", "/servers/" + id + "/shares/" + Path(share_id));
    if (!shown.ok()) return shown.status();
    result = (*shown)["share"];
  }
  return PrintRecord(PlainRecord(result), c.output, c.out);
}

absl::Status ServerRemoveShare(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  const std::string id = (*server)["id"];
  const std::string share_id = c.args.positional[1];
  auto r = c.api.Call("DELETE", "/servers/" + id + "/shares/" + Path(share_id));
  if (!r.ok()) return r.status();
  if (!c.args.Has("--wait")) return absl::OkStatus();
  // Back to active: a running guest did not let go of the device in time
  // (the server's actions say why).
  return WaitFor(c, "share detachment",
                 [&] { return ShareStatus(c, id, share_id); }, {""},
                 {"error", "active"});
}

absl::Status ServerShareList(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  auto r = c.api.Call(
      "GET", "/servers/" + (*server)["id"].get<std::string>() + "/shares");
  if (!r.ok()) return r.status();
  Listing l{{"Share ID", "Status", "Tag"}, {}};
  for (const json& s : (*r)["shares"]) {
    l.rows.push_back(
        {s.value("share_id", ""), s.value("status", ""), s.value("tag", "")});
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status ServerShareShow(Ctx& c) {
  auto server = FindServer(c, c.args.positional[0]);
  if (!server.ok()) return server.status();
  auto r = c.api.Call("GET", "/servers/" + (*server)["id"].get<std::string>() +
                                 "/shares/" + Path(c.args.positional[1]));
  if (!r.ok()) return r.status();
  return PrintRecord(PlainRecord((*r)["share"]), c.output, c.out);
}

}  // namespace shareplane::cli
