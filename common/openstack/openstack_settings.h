// Keystone and Manila settings (keystoneauth's option names), read the
// same way by every process that calls them.
#ifndef SHAREPLANE_COMMON_OPENSTACK_OPENSTACK_SETTINGS_H_
#define SHAREPLANE_COMMON_OPENSTACK_OPENSTACK_SETTINGS_H_

#include <memory>
#include <optional>
#include <string>

#include "common/core/config.h"
#include "common/openstack/keystone.h"
#include "common/openstack/manila_client.h"

namespace shareplane {

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

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_OPENSTACK_OPENSTACK_SETTINGS_H_
