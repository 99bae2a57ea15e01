// The one way Shareplane reads JSON it did not write itself: request bodies
// (REST, gRPC, metadata), the policy file, Manila and Keystone replies and
// host facts. Limits are enforced before a document is built, so no input
// can exhaust the stack (deep nesting) or the heap (size); and text made
// from untrusted values is bounded and always valid UTF-8.
#ifndef SHAREPLANE_COMMON_CORE_JSON_BODY_H_
#define SHAREPLANE_COMMON_CORE_JSON_BODY_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shareplane {

struct JsonLimits {
  size_t max_depth = 64;           // nested arrays and objects
  size_t max_bytes = 1024 * 1024;  // of the text
};

// Parses `text` into a document. InvalidArgument "Malformed request body"
// when it is not JSON, nests deeper than `max_depth` or is larger than
// `max_bytes` (the nesting is measured by a scan before parsing, so a deep
// document never reaches the recursive parts of the JSON library).
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                         const JsonLimits& limits = {});
// The same, and the document must be an object.
absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text,
                                               const JsonLimits& limits = {});

// The nesting depth of the JSON text (brackets outside strings); stops
// counting past `stop_at`. Linear, no recursion.
size_t JsonNestingDepth(absl::string_view text, size_t stop_at);

// Serializes without throwing: invalid UTF-8 in strings is replaced.
std::string DumpJson(const nlohmann::json& j);
std::string DumpJson(const nlohmann::ordered_json& j);

// Python's str() of a value, as jsonschema's messages and Nova show it
// ('x' quoted inside containers, None, True, {'k': 1}); at most `max_chars`
// characters, cut with "...".
std::string PythonRepr(const nlohmann::json& j, bool quote_strings = true,
                       size_t max_chars = 512);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_JSON_BODY_H_
