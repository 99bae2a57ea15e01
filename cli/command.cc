#include "cli/command.h"

#include "absl/strings/str_cat.h"
#include "common/core/ids.h"

namespace shareplane::cli {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string Path(const std::string& id) {
  // Ids go into the URL path: anything that could change the route
  // matches nothing instead.
  return id.find_first_of("/?#% ") == std::string::npos ? id : "-";
}

ojson Ordered(const json& j) { return ojson::parse(j.dump()); }

absl::StatusOr<json> FindServer(Ctx& c, const std::string& name_or_id) {
  if (IsUuid(name_or_id)) {
    auto r = c.api.Call("GET", "/servers/" + name_or_id);
    if (r.ok()) return (*r)["server"];
    if (r.status().code() != absl::StatusCode::kNotFound) return r.status();
  }
  auto list = c.api.Call("GET", "/servers/detail");
  if (!list.ok()) return list.status();
  std::vector<json> found;
  for (const json& s : (*list)["servers"]) {
    if (s.value("name", "") == name_or_id) found.push_back(s);
  }
  if (found.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "More than one server exists with the name '", name_or_id, "'."));
  }
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("No server with a name or ID of '",
                                            name_or_id, "' exists."));
  }
  return found[0];
}

absl::StatusOr<json> FindFlavor(Ctx& c, const std::string& name_or_id) {
  auto r = c.api.Call("GET", "/flavors/" + Path(name_or_id));
  if (r.ok()) return (*r)["flavor"];
  if (r.status().code() != absl::StatusCode::kNotFound) return r.status();
  auto list = c.api.Call("GET", "/flavors/detail");
  if (!list.ok()) return list.status();
  for (const json& f : (*list)["flavors"]) {
    if (f.value("name", "") == name_or_id) return f;
  }
  return absl::NotFoundError(absl::StrCat("No flavor with a name or ID of '",
                                          name_or_id, "' exists."));
}

Record PlainRecord(const json& object) {
  std::map<std::string, ojson> fields;
  for (const auto& [k, v] : object.items()) {
    if (k != "links") fields[k] = Ordered(v);
  }
  return Record(fields.begin(), fields.end());
}

}  // namespace shareplane::cli
