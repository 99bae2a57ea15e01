// The two microversion headers (first line: OpenStack-API-Version, the
// rest: X-OpenStack-Nova-API-Version). Whatever they hold, the answer is a
// version inside the supported range, 400 or 406.
#include <cstdint>
#include <string>

#include "api-service/request_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  shareplane::HttpRequest req;
  req.headers["openstack-api-version"] = text.substr(0, nl);
  if (nl != std::string::npos) {
    req.headers["x-openstack-nova-api-version"] = text.substr(nl + 1);
  }
  auto v = shareplane::ParseApiVersion(req);
  if (v.ok()) {
    if (!v->AtLeast(shareplane::kMinApiVersion.major,
                    shareplane::kMinApiVersion.minor) ||
        !shareplane::kMaxApiVersion.AtLeast(v->major, v->minor)) {
      __builtin_trap();
    }
  } else if (v.status().code() != absl::StatusCode::kInvalidArgument &&
             v.status().code() != absl::StatusCode::kOutOfRange) {
    __builtin_trap();
  }
  return 0;
}
