#include "common/core/json_schema.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/core/ids.h"
#include "common/core/json_body.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

struct Violation {
  std::string field;  // last path element; empty for the document
  const json* instance;
  std::string message;
};

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool HasType(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  // Draft 4, as Nova validates: 1.0 is a number, not an integer.
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  return false;
}

bool IsCount(const json& v) {
  return v.is_number_integer() && v.get<int64_t>() >= 0;
}

bool IsPrintable(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsIpv4(absl::string_view s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '.');
  if (parts.size() != 4) return false;
  for (absl::string_view p : parts) {
    int n;
    if (p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &n) || n > 255 ||
        !absl::ascii_isdigit(p[0])) {
      return false;
    }
  }
  return true;
}

bool IsIpv6(absl::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  int groups = 0;
  bool gap = false;
  for (absl::string_view g : absl::StrSplit(s, ':')) {
    ++groups;
    if (g.empty()) {
      gap = true;
      continue;
    }
    if (g.size() > 4) return IsIpv4(g);
    for (char c : g) {
      if (!absl::ascii_isxdigit(c)) return false;
    }
  }
  return groups >= 3 && groups <= 8 + (gap ? 1 : 0);
}

// Compares a number or a digit string with a bound.
std::optional<double> NumericValue(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    double d;
    if (!s.empty() && absl::SimpleAtod(s, &d)) return d;
  }
  return std::nullopt;
}

class Validator {
 public:
  std::optional<Violation> violation;
  absl::Status bug;

  void Check(const json& v, const json& schema, const std::string& field) {
    if (violation || !bug.ok()) return;
    if (!schema.is_object()) return Bug("schema is not an object");
    // In the order Nova's schemas list their keywords (jsonschema reports
    // the first failing one): the type, the properties, what is required,
    // the value's own constraints, and what is left over last.
    static const char* const kOrder[] = {"type",
                                         "enum",
                                         "properties",
                                         "items",
                                         "required",
                                         "pattern",
                                         "format",
                                         "minimum",
                                         "exclusiveMinimum",
                                         "maximum",
                                         "minLength",
                                         "maxLength",
                                         "minItems",
                                         "maxItems",
                                         "minProperties",
                                         "maxProperties",
                                         "additionalProperties",
                                         "propertyNames"};
    size_t known = 0;
    for (const char* keyword : kOrder) {
      if (violation || !bug.ok()) return;
      auto it = schema.find(keyword);
      if (it == schema.end()) continue;
      ++known;
      if (std::string(keyword) == "type") {
        CheckType(v, *it, field);
      } else {
        CheckKeyword(v, keyword, *it, schema, field);
      }
    }
    for (const auto& [keyword, arg] : schema.items()) {
      if (keyword != "description" && keyword != "title") --known;
    }
    if (known != 0 && bug.ok()) Bug("unknown keyword");
  }

 private:
  void Fail(const std::string& field, const json& v, std::string message) {
    violation = Violation{field, &v, std::move(message)};
  }
  void Bug(const std::string& what) {
    if (bug.ok()) bug = absl::InternalError("Bad request schema: " + what);
  }

  void CheckKeyword(const json& v, const std::string& keyword, const json& arg,
                    const json& schema, const std::string& field) {
    if (keyword == "description" || keyword == "title") return;
    // As Nova's uuid checker, which also refuses non-strings.
    if (keyword == "format" && !v.is_string()) {
      if (arg == "uuid") {
        Fail(field, v, absl::StrCat(PythonRepr(v), " is not a 'uuid'"));
      }
      return;
    }
    if (v.is_object()) return CheckObject(v, keyword, arg, schema, field);
    if (v.is_array()) return CheckArray(v, keyword, arg, field);
    if (v.is_string()) return CheckString(v, keyword, arg, schema, field);
    if (keyword == "enum") return CheckEnum(v, arg, field);
    if ((keyword == "minimum" || keyword == "maximum") && v.is_number()) {
      return CheckBound(v, keyword, arg, field, Exclusive(schema, keyword));
    }
  }

  void CheckType(const json& v, const json& arg, const std::string& field) {
    std::vector<std::string> types;
    if (arg.is_string()) {
      types.push_back(arg.get<std::string>());
    } else if (arg.is_array()) {
      for (const auto& t : arg) {
        if (!t.is_string()) return Bug("bad type list");
        types.push_back(t.get<std::string>());
      }
    } else {
      return Bug("bad type");
    }
    for (const auto& t : types) {
      if (HasType(v, t)) return;
    }
    std::vector<std::string> quoted;
    for (const auto& t : types) quoted.push_back("'" + t + "'");
    Fail(field, v,
         absl::StrCat(PythonRepr(v), " is not of type ",
                      absl::StrJoin(quoted, ", ")));
  }

  void CheckEnum(const json& v, const json& arg, const std::string& field) {
    if (!arg.is_array()) return Bug("bad enum");
    for (const auto& option : arg) {
      if (option == v) return;
    }
    Fail(field, v,
         absl::StrCat(PythonRepr(v), " is not one of ", PythonRepr(arg)));
  }

  void CheckBound(const json& v, const std::string& keyword, const json& arg,
                  const std::string& field, bool exclusive = false) {
    if (!arg.is_number()) return Bug("bad bound");
    std::optional<double> n = NumericValue(v);
    if (!n) return;
    const double bound = arg.get<double>();
    if (keyword == "minimum" && exclusive && *n <= bound) {
      Fail(field, v,
           absl::StrCat(PythonRepr(v),
                        " is less than or equal to the "
                        "minimum of ",
                        DumpJson(arg)));
    } else if (keyword == "minimum" && *n < bound) {
      Fail(field, v,
           absl::StrCat(PythonRepr(v), " is less than the minimum of ",
                        DumpJson(arg)));
    } else if (keyword == "maximum" && *n > bound) {
      Fail(field, v,
           absl::StrCat(PythonRepr(v), " is greater than the maximum of ",
                        DumpJson(arg)));
    }
  }

  void CheckObject(const json& v, const std::string& keyword, const json& arg,
                   const json& schema, const std::string& field) {
    if (keyword == "required") {
      if (!arg.is_array()) return Bug("bad required");
      for (const auto& name : arg) {
        if (!name.is_string()) return Bug("bad required name");
        if (!v.contains(name.get<std::string>())) {
          return Fail(
              field, v,
              absl::StrCat(PythonRepr(name), " is a required property"));
        }
      }
    } else if (keyword == "properties") {
      if (!arg.is_object()) return Bug("bad properties");
      for (const auto& [name, sub] : arg.items()) {
        auto it = v.find(name);
        if (it != v.end()) Check(*it, sub, name);
        if (violation || !bug.ok()) return;
      }
    } else if (keyword == "additionalProperties") {
      const json* props =
          schema.contains("properties") ? &schema["properties"] : nullptr;
      std::vector<std::string> extra;
      for (const auto& [name, sub] : v.items()) {
        if (props && props->contains(name)) continue;
        if (arg.is_boolean()) {
          if (!arg.get<bool>()) extra.push_back(PythonRepr(json(name)));
        } else {
          Check(sub, arg, name);
          if (violation || !bug.ok()) return;
        }
      }
      if (!extra.empty()) {
        Fail(
            field, v,
            absl::StrCat("Additional properties are not allowed (",
                         absl::StrJoin(extra, ", "),
                         extra.size() == 1 ? " was" : " were", " unexpected)"));
      }
    } else if (keyword == "propertyNames") {
      for (const auto& [name, sub] : v.items()) {
        Validator names;
        json key = name;
        names.Check(key, arg, name);
        if (!names.bug.ok()) bug = names.bug;
        if (names.violation) {
          return Fail(field, v,
                      absl::StrCat("Additional properties are not allowed (",
                                   PythonRepr(key), " was unexpected)"));
        }
      }
    } else if (keyword == "minProperties" || keyword == "maxProperties") {
      if (!IsCount(arg)) return Bug("bad property count");
      const size_t n = static_cast<size_t>(arg.get<int64_t>());
      if (keyword == "minProperties" && v.size() < n) {
        Fail(field, v,
             absl::StrCat(PythonRepr(v), " does not have enough properties"));
      } else if (keyword == "maxProperties" && v.size() > n) {
        Fail(field, v, absl::StrCat(PythonRepr(v), " has too many properties"));
      }
    } else if (keyword == "enum") {
      CheckEnum(v, arg, field);
    }
  }

  void CheckArray(const json& v, const std::string& keyword, const json& arg,
                  const std::string& field) {
    if (keyword == "items") {
      for (size_t i = 0; i < v.size(); ++i) {
        Check(v[i], arg, field);
        if (violation || !bug.ok()) return;
      }
    } else if (keyword == "minItems" || keyword == "maxItems") {
      if (!IsCount(arg)) return Bug("bad item count");
      const size_t n = static_cast<size_t>(arg.get<int64_t>());
      if (keyword == "minItems" && v.size() < n) {
        Fail(field, v, absl::StrCat(PythonRepr(v), " is too short"));
      } else if (keyword == "maxItems" && v.size() > n) {
        Fail(field, v, absl::StrCat(PythonRepr(v), " is too long"));
      }
    } else if (keyword == "enum") {
      CheckEnum(v, arg, field);
    }
  }

  // Draft 4: exclusiveMinimum is a flag on minimum.
  static bool Exclusive(const json& schema, const std::string& keyword) {
    auto it = schema.find("exclusiveMinimum");
    return keyword == "minimum" && it != schema.end() && it->is_boolean() &&
           it->get<bool>();
  }

  void CheckString(const json& v, const std::string& keyword, const json& arg,
                   const json& schema, const std::string& field) {
    const std::string& s = v.get_ref<const std::string&>();
    if (keyword == "minLength" || keyword == "maxLength") {
      if (!IsCount(arg)) return Bug("bad length");
      const size_t n = static_cast<size_t>(arg.get<int64_t>());
      const size_t len = CodePoints(s);
      if (keyword == "minLength" && len < n) {
        Fail(field, v, absl::StrCat(PythonRepr(v), " is too short"));
      } else if (keyword == "maxLength" && len > n) {
        Fail(field, v, absl::StrCat(PythonRepr(v), " is too long"));
      }
    } else if (keyword == "pattern") {
      if (!arg.is_string()) return Bug("bad pattern");
      const std::string& p = arg.get_ref<const std::string&>();
      if (p != kPatternShareTag && p != kPatternName && p != kPatternFlavorId &&
          p != kPatternExtraSpecKey && p != kPatternDigits &&
          p != kPatternDecimal) {
        return Bug("unknown pattern " + p);
      }
      if (!MatchesKnownPattern(p, s)) {
        Fail(field, v,
             absl::StrCat(PythonRepr(v), " does not match ", PythonRepr(arg)));
      }
    } else if (keyword == "format") {
      const std::string f = arg.is_string() ? arg.get<std::string>() : "";
      bool ok;
      if (f == "uuid") {
        ok = IsUuid(s);
      } else if (f == "ipv4") {
        ok = IsIpv4(s);
      } else if (f == "ipv6") {
        ok = IsIpv6(s);
      } else {
        return Bug("unknown format");
      }
      if (!ok) {
        Fail(field, v, absl::StrCat(PythonRepr(v), " is not a '", f, "'"));
      }
    } else if (keyword == "enum") {
      CheckEnum(v, arg, field);
    } else if (keyword == "minimum" || keyword == "maximum") {
      CheckBound(v, keyword, arg, field, Exclusive(schema, keyword));
    }
  }
};

bool AllOf(absl::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

}  // namespace

bool MatchesKnownPattern(absl::string_view pattern, absl::string_view s) {
  if (pattern == kPatternShareTag) {
    return !s.empty() && s.size() <= 36 &&
           AllOf(s, [](char c) { return absl::ascii_isalnum(c) || c == '-'; });
  }
  if (pattern == kPatternName) {
    // Any printable character, multi-byte ones included.
    return !s.empty() && s.front() != ' ' && s.back() != ' ' && IsPrintable(s);
  }
  if (pattern == kPatternFlavorId) {
    return !s.empty() && s.front() != ' ' && s.back() != ' ' &&
           AllOf(s, [](char c) {
             return absl::ascii_isalnum(c) || c == '.' || c == ' ' ||
                    c == '_' || c == '-';
           });
  }
  if (pattern == kPatternExtraSpecKey) {
    return !s.empty() && s.size() <= 255 && AllOf(s, [](char c) {
      return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == ':' ||
             c == '.' || c == ' ';
    });
  }
  if (pattern == kPatternDigits) {
    return AllOf(s, [](char c) { return absl::ascii_isdigit(c); });
  }
  if (pattern == kPatternDecimal) {
    const size_t dot = s.find('.');
    absl::string_view whole = s.substr(0, dot);
    absl::string_view frac =
        dot == absl::string_view::npos ? "0" : s.substr(dot + 1);
    auto digits = [](char c) { return absl::ascii_isdigit(c); };
    return !whole.empty() && !frac.empty() && AllOf(whole, digits) &&
           AllOf(frac, digits);
  }
  return false;
}

absl::Status ValidateJson(const json& instance, const json& schema) {
  Validator v;
  v.Check(instance, schema, "");
  if (!v.bug.ok()) return v.bug;
  if (!v.violation) return absl::OkStatus();
  if (v.violation->field.empty()) {
    return absl::InvalidArgumentError(v.violation->message);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "Invalid input for field/attribute ", v.violation->field, ". Value: ",
      PythonRepr(*v.violation->instance, false), ". ", v.violation->message));
}

absl::StatusOr<json> ParseAndValidate(absl::string_view body,
                                      const json& schema) {
  auto j = ParseJson(body);
  if (!j.ok()) return j.status();
  absl::Status s = ValidateJson(*j, schema);
  if (!s.ok()) return s;
  return j;
}

}  // namespace shareplane
