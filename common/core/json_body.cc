#include "common/core/json_body.h"

#include "absl/strings/str_cat.h"

namespace shareplane {
namespace {

absl::Status Malformed() {
  return absl::InvalidArgumentError("Malformed request body");
}

void AppendRepr(const nlohmann::json& j, bool quote, size_t max, int depth,
                std::string& out) {
  if (out.size() > max) return;
  if (depth > 64) {
    out += "...";
    return;
  }
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      out += "None";
      return;
    case nlohmann::json::value_t::boolean:
      out += j.get<bool>() ? "True" : "False";
      return;
    case nlohmann::json::value_t::string: {
      const std::string& s = j.get_ref<const std::string&>();
      if (!quote) {
        out.append(s, 0, max + 1 - std::min(out.size(), max + 1));
        return;
      }
      out += '\'';
      for (char c : s) {
        if (out.size() > max) return;
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
      }
      out += '\'';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (out.size() > max) return;
        if (!first) out += ", ";
        first = false;
        AppendRepr(v, true, max, depth + 1, out);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (out.size() > max) return;
        if (!first) out += ", ";
        first = false;
        AppendRepr(nlohmann::json(k), true, max, depth + 1, out);
        out += ": ";
        AppendRepr(v, true, max, depth + 1, out);
      }
      out += '}';
      return;
    }
    default:
      out += DumpJson(j);
      return;
  }
}

// Cuts at `max` bytes without splitting a UTF-8 sequence.
void Truncate(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "...";
}

}  // namespace

size_t JsonNestingDepth(absl::string_view text, size_t stop_at) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > stop_at) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                         const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) return Malformed();
  if (JsonNestingDepth(text, limits.max_depth) > limits.max_depth) {
    return Malformed();
  }
  nlohmann::json j =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return Malformed();
  return j;
}

absl::StatusOr<nlohmann::json> ParseJsonObject(absl::string_view text,
                                               const JsonLimits& limits) {
  auto j = ParseJson(text, limits);
  if (!j.ok()) return j.status();
  if (!j->is_object()) return Malformed();
  return j;
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DumpJson(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

std::string PythonRepr(const nlohmann::json& j, bool quote_strings,
                       size_t max_chars) {
  std::string out;
  AppendRepr(j, quote_strings, max_chars, 0, out);
  Truncate(out, max_chars);
  return out;
}

}  // namespace shareplane
