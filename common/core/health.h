// A named dependency check, as the daemons' /healthcheck reports it.
#ifndef SHAREPLANE_COMMON_CORE_HEALTH_H_
#define SHAREPLANE_COMMON_CORE_HEALTH_H_

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace shareplane {

struct HealthCheck {
  std::string name;  // "database", "rabbitmq", "libvirt", ...
  std::function<absl::Status()> check;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_HEALTH_H_
