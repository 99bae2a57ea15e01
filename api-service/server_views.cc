#include "api-service/server_views.h"

#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shareplane {
namespace {

using ojson = nlohmann::ordered_json;

ojson NullIfEmpty(const std::string& s) {
  return s.empty() ? ojson(nullptr) : ojson(s);
}

ojson FlavorView(const std::optional<Flavor>& f, const Server& s,
                 const RequestContext& ctx, const ApiDeps& deps,
                 const HttpRequest& req) {
  if (!ctx.version.AtLeast(2, 47)) {
    const std::string id = f ? f->id : s.flavor_id;
    return {{"id", id},
            {"links",
             ojson::array(
                 {{{"rel", "bookmark"},
                   {"href", absl::StrCat(BaseUrl(req), "/flavors/", id)}}})}};
  }
  ojson j;
  j["vcpus"] = f ? f->vcpus : 0;
  j["ram"] = f ? f->ram_mb : 0;
  j["disk"] = f ? f->disk_gb : 0;
  j["ephemeral"] = f ? f->ephemeral_gb : 0;
  j["swap"] = f ? f->swap_mb : 0;
  j["original_name"] = f ? f->name : s.flavor_id;
  if (deps.policy.Allows("os_compute_api:servers:show:flavor-extra-specs", ctx,
                         s.project_id)) {
    ojson specs = ojson::object();
    if (f) {
      for (const auto& [k, v] : f->extra_specs) specs[k] = v;
    }
    j["extra_specs"] = specs;
  }
  return j;
}

}  // namespace

std::string HostIdFor(const std::string& project_id, const std::string& host) {
  if (host.empty()) return "";
  const std::string in = project_id + host;
  unsigned char digest[SHA224_DIGEST_LENGTH];
  SHA224(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  std::string out;
  for (unsigned char c : digest) absl::StrAppendFormat(&out, "%02x", c);
  return out;
}

ojson ResourceLinks(const HttpRequest& req, const std::string& collection,
                    const std::string& id) {
  const std::string base = BaseUrl(req);
  return ojson::array(
      {{{"rel", "self"},
        {"href", absl::StrCat(base, "/v2.1/", collection, "/", id)}},
       {{"rel", "bookmark"},
        {"href", absl::StrCat(base, "/", collection, "/", id)}}});
}

std::string DefaultHostname(const std::string& name) {
  std::string out;
  for (char c : name.substr(0, 63)) {
    if (c == ' ' || c == '_' || c == '.') {
      out += '-';
    } else if (absl::ascii_isalnum(c) || c == '-') {
      out += absl::ascii_tolower(c);
    }
  }
  const size_t first = out.find_first_not_of(".-");
  if (first == std::string::npos) return "";
  out = out.substr(first, out.find_last_not_of(".-") - first + 1);
  return out;
}

std::string HostStatus(const std::optional<ComputeHost>& host,
                       int service_down_time) {
  if (!host) return "";
  if (host->disabled) return "MAINTENANCE";
  return IsHostUp(*host, service_down_time) ? "UP" : "DOWN";
}

bool ShowsExtendedAttributes(const ApiDeps& deps, const RequestContext& ctx,
                             const Server& server) {
  return deps.policy.Allows("os_compute_api:os-extended-server-attributes", ctx,
                            server.project_id);
}

ojson ServerView(const ServerRecord& record, const RequestContext& ctx,
                 const ApiDeps& deps, const HttpRequest& req, bool detail) {
  const Server& s = record.server;
  const std::optional<Flavor>& flavor = record.flavor;
  const ApiVersion& v = ctx.version;
  const std::string status = ServerStatus(s.vm_state, s.task_state);
  const ojson security_groups = ojson::array({{{"name", "default"}}});
  std::string hostname = DefaultHostname(s.name);
  if (hostname.empty()) hostname = "Server-" + s.uuid;
  ojson j;
  j["accessIPv4"] = "";
  j["accessIPv6"] = "";
  j["addresses"] = ojson::object();
  j["created"] = s.created_at;
  j["flavor"] = FlavorView(flavor, s, ctx, deps, req);
  j["hostId"] = HostIdFor(s.project_id, s.host);
  j["id"] = s.uuid;
  if (s.image_ref.empty()) {
    j["image"] = "";
  } else {
    j["image"] = {
        {"id", s.image_ref},
        {"links", ojson::array({{{"rel", "bookmark"},
                                 {"href", absl::StrCat(BaseUrl(req), "/images/",
                                                       s.image_ref)}}})}};
  }
  j["links"] = ResourceLinks(req, "servers", s.uuid);
  j["metadata"] = ojson::object();
  j["name"] = s.name;
  j["status"] = status;
  j["tenant_id"] = s.project_id;
  j["user_id"] = s.user_id;
  j["updated"] = s.updated_at;
  j["OS-DCF:diskConfig"] = "MANUAL";
  if (status == "ACTIVE" || status == "BUILD") j["progress"] = 0;
  j["OS-EXT-AZ:availability_zone"] = s.availability_zone;
  j["config_drive"] = "";
  j["key_name"] = nullptr;
  j["OS-SRV-USG:launched_at"] = NullIfEmpty(s.launched_at);
  j["OS-SRV-USG:terminated_at"] = nullptr;
  if (!detail) j["security_groups"] = security_groups;
  const bool extended = ShowsExtendedAttributes(deps, ctx, s);
  if (extended) {
    j["OS-EXT-SRV-ATTR:host"] = NullIfEmpty(s.host);
    j["OS-EXT-SRV-ATTR:instance_name"] = "instance-" + s.uuid;
    j["OS-EXT-SRV-ATTR:hypervisor_hostname"] = NullIfEmpty(s.host);
    if (v.AtLeast(2, 3)) {
      j["OS-EXT-SRV-ATTR:hostname"] = hostname;
      j["OS-EXT-SRV-ATTR:kernel_id"] = "";
      j["OS-EXT-SRV-ATTR:launch_index"] = 0;
      j["OS-EXT-SRV-ATTR:ramdisk_id"] = "";
      j["OS-EXT-SRV-ATTR:reservation_id"] =
          "r-" + s.uuid.substr(0, std::min<size_t>(8, s.uuid.size()));
      j["OS-EXT-SRV-ATTR:root_device_name"] = nullptr;
      j["OS-EXT-SRV-ATTR:user_data"] = nullptr;
    }
  }
  j["OS-EXT-STS:task_state"] = NullIfEmpty(s.task_state);
  j["OS-EXT-STS:vm_state"] = s.vm_state;
  j["OS-EXT-STS:power_state"] = s.power_state;
  j["os-extended-volumes:volumes_attached"] = ojson::array();
  if (v.AtLeast(2, 9)) j["locked"] = false;
  const bool host_status =
      v.AtLeast(2, 16) &&
      deps.policy.Allows("os_compute_api:servers:show:host_status", ctx,
                         s.project_id);
  if (host_status && !detail) j["host_status"] = record.host_status;
  if (v.AtLeast(2, 19)) j["description"] = nullptr;
  if (v.AtLeast(2, 26)) j["tags"] = ojson::array();
  if (v.AtLeast(2, 63)) j["trusted_image_certificates"] = nullptr;
  if (v.AtLeast(2, 71) && !detail) j["server_groups"] = ojson::array();
  if (v.AtLeast(2, 73)) j["locked_reason"] = nullptr;
  if (v.AtLeast(2, 90) && !extended) j["OS-EXT-SRV-ATTR:hostname"] = hostname;
  if (v.AtLeast(2, 96)) {
    j["pinned_availability_zone"] = NullIfEmpty(s.pinned_availability_zone);
  }
  if (detail) {
    if (host_status) j["host_status"] = record.host_status;
    j["security_groups"] = security_groups;
  }
  return j;
}

ojson ActionView(const InstanceAction& a, const RequestContext& ctx,
                 const ApiDeps& deps, const std::string& server_project,
                 bool with_events) {
  const ApiVersion& v = ctx.version;
  ojson j = {{"action", a.action},
             {"instance_uuid", a.server_uuid},
             {"request_id", a.request_id},
             {"user_id", a.user_id},
             {"project_id", a.project_id},
             {"start_time", a.start_time},
             {"message", NullIfEmpty(a.message)}};
  if (v.AtLeast(2, 58)) j["updated_at"] = NullIfEmpty(a.updated_at);
  if (!with_events) return j;
  // Events from microversion 2.51 for everyone, always for admins; the
  // traceback and host for admins, details (2.84) by their own policy.
  const bool admin_events = deps.policy.Allows(
      "os_compute_api:os-instance-actions:events", ctx, server_project);
  if (!admin_events && !v.AtLeast(2, 51)) return j;
  const bool details =
      v.AtLeast(2, 84) &&
      deps.policy.Allows("os_compute_api:os-instance-actions:events:details",
                         ctx, server_project);
  const std::string project =
      a.project_id.empty() ? server_project : a.project_id;
  ojson events = ojson::array();
  for (const auto& e : a.events) {
    ojson ev = {{"event", e.event},
                {"start_time", e.start_time},
                {"finish_time", NullIfEmpty(e.finish_time)},
                {"result", NullIfEmpty(e.result)}};
    if (admin_events) ev["traceback"] = NullIfEmpty(e.details);
    if (v.AtLeast(2, 62)) {
      if (admin_events) ev["host"] = e.host;
      ev["hostId"] = HostIdFor(project, e.host);
    }
    if (details) ev["details"] = NullIfEmpty(e.details.substr(0, 255));
    events.push_back(std::move(ev));
  }
  j["events"] = std::move(events);
  return j;
}

}  // namespace shareplane
