#include "common/settings.h"

#include "absl/strings/match.h"
#include "common/log.h"

namespace shareplane {

AmqpOptions AmqpOptionsFrom(const Config& config) {
  AmqpOptions o;
  std::string url = config.GetString("DEFAULT", "transport_url", o.url);
  if (absl::StartsWith(url, "rabbit://")) url = "amqp://" + url.substr(9);
  o.url = url;
  // oslo.messaging's names for the broker's TLS.
  o.ca_file = config.GetString("oslo_messaging_rabbit", "ssl_ca_file", "");
  o.cert_file = config.GetString("oslo_messaging_rabbit", "ssl_cert_file", "");
  o.key_file = config.GetString("oslo_messaging_rabbit", "ssl_key_file", "");
  return o;
}

Database::Options DatabaseOptionsFrom(const Config& config) {
  Database::Options o;
  o.conninfo =
      config.GetString("database", "connection",
                       "postgresql://shareplane@127.0.0.1:5432/shareplane");
  o.pool_size = config.GetInt("database", "max_pool_size", 8);
  o.acquire_timeout = std::chrono::milliseconds(
      1000 * config.GetInt("database", "pool_timeout", 10));
  return o;
}

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

std::string TaskQueueFrom(const Config& config) {
  return config.GetString("conductor", "task_queue", "shareplane.conductor");
}

void ConfigureLogging(const Config& config, const std::string& program) {
  SetLogProgramName(program);
  SetLogDebug(config.GetBool("DEFAULT", "debug", false));
}

}  // namespace shareplane
