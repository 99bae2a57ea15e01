// flavor create, list and show; host list.
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/command.h"

namespace shareplane::cli {
namespace {

using json = nlohmann::json;

// A flavor's extra specs show as "properties", as in OSC.
json WithProperties(json flavor) {
  if (flavor.contains("extra_specs")) {
    flavor["properties"] = flavor["extra_specs"];
    flavor.erase("extra_specs");
  }
  return flavor;
}

// The body of `flavor create`: its name, --ram, --vcpus, --disk, --id and
// --private.
absl::StatusOr<json> ParseFlavor(const Args& args) {
  json flavor = {{"name", args.positional[0]}};
  for (const auto& [option, key, def] :
       std::vector<std::tuple<std::string, std::string, int>>{
           {"--ram", "ram", 256},
           {"--vcpus", "vcpus", 1},
           {"--disk", "disk", 0}}) {
    int v = def;
    if (args.Has(option) && !absl::SimpleAtoi(args.Get(option), &v)) {
      return absl::InvalidArgumentError(absl::StrCat("argument ", option,
                                                     ": invalid int value: '",
                                                     args.Get(option), "'"));
    }
    flavor[key] = v;
  }
  if (args.Has("--id")) flavor["id"] = args.Get("--id");
  if (args.Has("--private")) flavor["os-flavor-access:is_public"] = false;
  return flavor;
}

// The extra specs of `flavor create`: each --property key=value.
absl::StatusOr<json> ParseProperties(const Args& args) {
  json specs = json::object();
  for (const std::string& p : args.All("--property")) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "argument --property: expected key=value, got '", p, "'"));
    }
    specs[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return specs;
}

}  // namespace

absl::Status FlavorCreate(Ctx& c) {
  auto flavor = ParseFlavor(c.args);
  if (!flavor.ok()) return flavor.status();
  auto r = c.api.Call("POST", "/flavors", json{{"flavor", *flavor}});
  if (!r.ok()) return r.status();
  json out = (*r)["flavor"];
  // Checked after the flavor is made, as before: the flavor stays.
  auto specs = ParseProperties(c.args);
  if (!specs.ok()) return specs.status();
  if (!specs->empty()) {
    auto s =
        c.api.Call("POST", "/flavors/" + Path(out["id"]) + "/os-extra_specs",
                   json{{"extra_specs", *specs}});
    if (!s.ok()) return s.status();
    out["extra_specs"] = (*s)["extra_specs"];
  }
  return PrintRecord(PlainRecord(WithProperties(out)), c.output, c.out);
}

absl::Status FlavorList(Ctx& c) {
  auto r = c.api.Call("GET", "/flavors/detail");
  if (!r.ok()) return r.status();
  Listing l{{"ID", "Name", "RAM", "Disk", "Ephemeral", "VCPUs", "Is Public"},
            {}};
  for (const json& f : (*r)["flavors"]) {
    l.rows.push_back(
        {f.value("id", ""), f.value("name", ""), f.value("ram", 0),
         f.value("disk", 0), f.value("OS-FLV-EXT-DATA:ephemeral", 0),
         f.value("vcpus", 0), f.value("os-flavor-access:is_public", true)});
  }
  return PrintListing(l, c.output, c.out);
}

absl::Status FlavorShow(Ctx& c) {
  auto flavor = FindFlavor(c, c.args.positional[0]);
  if (!flavor.ok()) return flavor.status();
  json f = *flavor;
  if (!f.contains("extra_specs")) {
    auto specs =
        c.api.Call("GET", "/flavors/" + Path(f["id"]) + "/os-extra_specs");
    if (specs.ok()) f["extra_specs"] = (*specs)["extra_specs"];
  }
  return PrintRecord(PlainRecord(WithProperties(f)), c.output, c.out);
}

absl::Status HostList(Ctx& c) {
  auto r = c.api.Call("GET", "/os-hypervisors/detail");
  if (!r.ok()) return r.status();
  Listing l{{"Host", "State", "Status", "Hypervisor Type", "vCPUs", "Memory MB",
             "Traits"},
            {}};
  for (const json& h : (*r)["hypervisors"]) {
    l.rows.push_back({h.value("hypervisor_hostname", ""), h.value("state", ""),
                      h.value("status", ""), h.value("hypervisor_type", ""),
                      h.value("vcpus", 0), h.value("memory_mb", 0),
                      Ordered(h.value("traits", json::array()))});
  }
  return PrintListing(l, c.output, c.out);
}

}  // namespace shareplane::cli
