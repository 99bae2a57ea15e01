// The server and instance-action bodies, field for field with Nova's
// views/servers.py and instance_actions.py per microversion: keys in
// Nova's wire order, each from the microversion that brought it, policy-
// gated ones only for callers the policy allows.
#ifndef SHAREPLANE_API_SERVICE_SERVER_VIEWS_H_
#define SHAREPLANE_API_SERVICE_SERVER_VIEWS_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api-service/api_common.h"
#include "api-service/server_service.h"

namespace shareplane {

// Nova's hostId: sha224(project_id + host) in hex, "" without a host.
std::string HostIdFor(const std::string& project_id, const std::string& host);

// self and bookmark links of a resource.
nlohmann::ordered_json ResourceLinks(const HttpRequest& req,
                                     const std::string& collection,
                                     const std::string& id);

// One server of GET /servers/{id} or /servers/detail (`detail`: no
// server_groups, tail fields).
nlohmann::ordered_json ServerView(const ServerRecord& record,
                                  const RequestContext& ctx,
                                  const ApiDeps& deps, const HttpRequest& req,
                                  bool detail);

// Whether the caller sees a server's host and instance attributes
// (os_compute_api:os-extended-server-attributes): both fronts ask this.
bool ShowsExtendedAttributes(const ApiDeps& deps, const RequestContext& ctx,
                             const Server& server);

// Nova's hostname for a server created without one (sanitize_hostname).
std::string DefaultHostname(const std::string& name);

// host_status of a host: UP, DOWN (no heartbeat within service_down_time),
// MAINTENANCE (disabled), "" for no host.
std::string HostStatus(const std::optional<ComputeHost>& host,
                       int service_down_time);

// One action of os-instance-actions (list and show), with its events for
// show when `with_events` (who sees which event field is decided inside).
nlohmann::ordered_json ActionView(const InstanceAction& a,
                                  const RequestContext& ctx,
                                  const ApiDeps& deps,
                                  const std::string& server_project,
                                  bool with_events);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SERVER_VIEWS_H_
