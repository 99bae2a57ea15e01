// Settings every daemon reads the same way from its Config (the
// libraries that need more read theirs: pg_settings.h, amqp_settings.h,
// openstack_settings.h).
#ifndef SHAREPLANE_COMMON_CORE_SETTINGS_H_
#define SHAREPLANE_COMMON_CORE_SETTINGS_H_

#include <string>

#include "common/core/config.h"

namespace shareplane {

// [conductor] task_queue: the durable queue tasks travel on.
std::string TaskQueueFrom(const Config& config);
// [DEFAULT] debug, and the program name on log lines.
void ConfigureLogging(const Config& config, const std::string& program);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_SETTINGS_H_
