// Settings every daemon reads the same way from its Config.
#ifndef SHAREPLANE_COMMON_SETTINGS_H_
#define SHAREPLANE_COMMON_SETTINGS_H_

#include <memory>
#include <optional>
#include <string>

#include "common/amqp_bus.h"
#include "common/config.h"
#include "common/db.h"
#include "common/keystone.h"
#include "common/manila_client.h"

namespace shareplane {

// [DEFAULT] transport_url (rabbit:// is accepted as amqp://).
AmqpOptions AmqpOptionsFrom(const Config& config);
// [database] connection, max_pool_size.
Database::Options DatabaseOptionsFrom(const Config& config);
// [manila] endpoint (or endpoint_override), timeout (seconds). The Keystone
// session (not owned), if any, is `keystone`.
ManilaOptions ManilaOptionsFrom(const Config& config,
                                KeystoneSession* keystone = nullptr);
// keystoneauth-style options of `section` (e.g. [manila]): auth_type
// (password | v3applicationcredential), auth_url, username, password,
// user_domain_name, project_name, project_domain_name,
// application_credential_id, application_credential_secret, region_name,
// valid_interfaces. nullopt when auth_type is unset or "noauth".
std::optional<KeystoneOptions> KeystoneOptionsFrom(const Config& config,
                                                   const std::string& section);
// The service's own Keystone session for Manila calls ([manila] auth_type
// and friends); null in noauth deployments.
std::unique_ptr<KeystoneSession> ManilaKeystoneFrom(const Config& config);
// [conductor] task_queue: the durable queue tasks travel on.
std::string TaskQueueFrom(const Config& config);
// [DEFAULT] debug, and the program name on log lines.
void ConfigureLogging(const Config& config, const std::string& program);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_SETTINGS_H_
