// Settings every daemon reads the same way from its Config.
#ifndef SHAREPLANE_COMMON_SETTINGS_H_
#define SHAREPLANE_COMMON_SETTINGS_H_

#include <string>

#include "common/amqp_bus.h"
#include "common/config.h"
#include "common/db.h"
#include "common/manila_client.h"

namespace shareplane {

// [DEFAULT] transport_url (rabbit:// is accepted as amqp://).
AmqpOptions AmqpOptionsFrom(const Config& config);
// [database] connection, max_pool_size.
Database::Options DatabaseOptionsFrom(const Config& config);
// [manila] endpoint, timeout (seconds).
ManilaOptions ManilaOptionsFrom(const Config& config);
// [conductor] task_queue: the durable queue tasks travel on.
std::string TaskQueueFrom(const Config& config);
// [DEFAULT] debug, and the program name on log lines.
void ConfigureLogging(const Config& config, const std::string& program);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_SETTINGS_H_
