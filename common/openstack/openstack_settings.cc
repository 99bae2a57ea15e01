#include "common/openstack/openstack_settings.h"

namespace shareplane {

ManilaOptions ManilaOptionsFrom(const Config& config,
                                KeystoneSession* keystone_session) {
  ManilaOptions o;
  o.keystone = keystone_session;
  const bool keystone = KeystoneOptionsFrom(config, "manila").has_value();
  o.endpoint = config.GetString(
      "manila", "endpoint",
      config.GetString("manila", "endpoint_override",
                       keystone ? "" : "http://127.0.0.1:8786/v2"));
  o.timeout = std::chrono::seconds(config.GetInt("manila", "timeout", 30));
  return o;
}

std::optional<KeystoneOptions> KeystoneOptionsFrom(const Config& config,
                                                   const std::string& section) {
  const std::string type = config.GetString(section, "auth_type", "noauth");
  if (type == "noauth" || type.empty()) return std::nullopt;
  KeystoneOptions o;
  o.auth_type = type;
  o.auth_url = config.GetString(section, "auth_url", "");
  o.username = config.GetString(section, "username", "");
  o.password = config.GetString(section, "password", "");
  o.user_domain_name = config.GetString(section, "user_domain_name", "Default");
  o.project_name = config.GetString(section, "project_name", "");
  o.project_domain_name =
      config.GetString(section, "project_domain_name", "Default");
  o.application_credential_id =
      config.GetString(section, "application_credential_id", "");
  o.application_credential_secret =
      config.GetString(section, "application_credential_secret", "");
  o.region_name = config.GetString(section, "region_name", "");
  o.interface = config.GetString(section, "valid_interfaces", "public");
  return o;
}

std::unique_ptr<KeystoneSession> ManilaKeystoneFrom(const Config& config) {
  auto options = KeystoneOptionsFrom(config, "manila");
  if (!options) return nullptr;
  return std::make_unique<KeystoneSession>(*options, *RealClock::Get());
}

}  // namespace shareplane
