#include "common/core/settings.h"

#include "common/core/log.h"

namespace shareplane {

std::string TaskQueueFrom(const Config& config) {
  return config.GetString("conductor", "task_queue", "shareplane.conductor");
}

void ConfigureLogging(const Config& config, const std::string& program) {
  SetLogProgramName(program);
  SetLogDebug(config.GetBool("DEFAULT", "debug", false));
}

}  // namespace shareplane
