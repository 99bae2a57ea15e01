// Identifiers: random UUIDs, request ids and their validation.
#ifndef SHAREPLANE_COMMON_CORE_IDS_H_
#define SHAREPLANE_COMMON_CORE_IDS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace shareplane {

// A random (version 4) UUID in canonical lowercase form.
std::string NewUuid();
// "req-<uuid>", the OpenStack request id form.
std::string NewRequestId();
// True for the canonical 8-4-4-4-12 hex form (either case).
bool IsUuid(absl::string_view s);
// True for "req-<uuid>".
bool IsRequestId(absl::string_view s);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_IDS_H_
