// Any text as the body of every route: the bounded parser, every request
// schema, the messages made from the values (Python repr, dump), and the
// attach body's own reader. A crash or a sanitizer finding is a bug; so is
// a schema error that is not InvalidArgument.
#include <cstdint>
#include <string>

#include "api-service/request_schemas.h"
#include "api-service/shares_api.h"
#include "common/core/json_body.h"
#include "common/core/json_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = shareplane::ParseJson(text);
  if (doc.ok()) {
    (void)shareplane::PythonRepr(*doc);
    (void)shareplane::DumpJson(*doc);
    for (const auto& named : shareplane::AllRequestSchemas()) {
      absl::Status s = shareplane::ValidateJson(*doc, *named.schema);
      if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) {
        __builtin_trap();  // a schema the validator cannot read
      }
    }
  } else if (doc.status().code() != absl::StatusCode::kInvalidArgument) {
    __builtin_trap();
  }
  (void)shareplane::ParseAttachBody(text);
  return 0;
}
