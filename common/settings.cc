#include "common/settings.h"

#include "absl/strings/match.h"
#include "common/log.h"

namespace shareplane {

AmqpOptions AmqpOptionsFrom(const Config& config) {
  AmqpOptions o;
  std::string url = config.GetString("DEFAULT", "transport_url", o.url);
  if (absl::StartsWith(url, "rabbit://")) url = "amqp://" + url.substr(9);
  o.url = url;
  return o;
}

Database::Options DatabaseOptionsFrom(const Config& config) {
  Database::Options o;
  o.conninfo =
      config.GetString("database", "connection",
                       "postgresql://shareplane@127.0.0.1:5432/shareplane");
  o.pool_size = config.GetInt("database", "max_pool_size", 8);
  return o;
}

ManilaOptions ManilaOptionsFrom(const Config& config) {
  ManilaOptions o;
  o.endpoint =
      config.GetString("manila", "endpoint", "http://127.0.0.1:8786/v2");
  o.timeout = std::chrono::seconds(config.GetInt("manila", "timeout", 30));
  return o;
}

std::string TaskQueueFrom(const Config& config) {
  return config.GetString("conductor", "task_queue", "shareplane.conductor");
}

void ConfigureLogging(const Config& config, const std::string& program) {
  SetLogProgramName(program);
  SetLogDebug(config.GetBool("DEFAULT", "debug", false));
}

}  // namespace shareplane
