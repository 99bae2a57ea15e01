// Request schemas, as Nova's (nova/api/validation): a JSON Schema subset
// checked against a parsed body before any handler reads a field, with
// jsonschema's messages in Nova's wrapping (and, as jsonschema, the first
// failing keyword in the order Nova's schemas list them):
//   "Invalid input for field/attribute <field>. Value: <value>. <message>"
// (just "<message>" for the document itself). Once a body validates, every
// field the schema names has the type it says, so handlers may read it
// with get<T>() without a check.
//
// Keywords: type (a name or a list), properties, required,
// additionalProperties (false or a schema), propertyNames, minProperties,
// maxProperties, items, minItems, maxItems, minLength, maxLength (code
// points), enum, minimum, exclusiveMinimum (draft 4's flag), maximum
// (numbers and digit strings), format (uuid, ipv4, ipv6) and pattern, where the
// pattern is one of a fixed set Shareplane implements by hand (kPattern* below;
// no regex engine meets untrusted input). An unknown keyword value is a bug:
// Internal.
#ifndef SHAREPLANE_COMMON_CORE_JSON_SCHEMA_H_
#define SHAREPLANE_COMMON_CORE_JSON_SCHEMA_H_

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shareplane {

// Nova's parameter_types, as patterns the validator knows.
inline constexpr char kPatternShareTag[] = "^[a-zA-Z0-9-]{1,36}$";
// Names: printable, no leading or trailing whitespace.
inline constexpr char kPatternName[] = "^(?! )[[:print:]]+(?<! )$";
// Flavor ids.
inline constexpr char kPatternFlavorId[] = "^(?! )[a-zA-Z0-9. _-]+(?<! )$";
// Flavor extra-spec keys.
inline constexpr char kPatternExtraSpecKey[] = "^[a-zA-Z0-9-_:. ]{1,255}$";
// Integers written as strings.
inline constexpr char kPatternDigits[] = "^[0-9]*$";
// Decimal numbers written as strings.
inline constexpr char kPatternDecimal[] = "^[0-9]+(\\.[0-9]+)?$";

// Ok when `instance` satisfies `schema`; InvalidArgument with the message
// of the first violation otherwise; Internal for a schema it cannot read.
absl::Status ValidateJson(const nlohmann::json& instance,
                          const nlohmann::json& schema);

// ParseJson (bounded) then ValidateJson: the body every route reads.
absl::StatusOr<nlohmann::json> ParseAndValidate(absl::string_view body,
                                                const nlohmann::json& schema);

// Whether `value` matches one of the patterns above; false for any other.
bool MatchesKnownPattern(absl::string_view pattern, absl::string_view value);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_JSON_SCHEMA_H_
