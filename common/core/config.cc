#include "common/core/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace shareplane {

std::string StripQuotes(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') &&
      s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

absl::Status Config::ParseIni(absl::string_view text,
                              absl::string_view origin) {
  std::string section = "DEFAULT";
  int lineno = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++lineno;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return absl::InvalidArgumentError(
            absl::StrCat(origin, ":", lineno, ": malformed section header"));
      }
      section = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", lineno, ": expected 'key = value'"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", lineno, ": empty key"));
    }
    values_[section][key] = std::move(value);
  }
  return absl::OkStatus();
}

absl::Status Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("Cannot read config file '", path, "'"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseIni(buffer.str(), path);
}

absl::StatusOr<Config> Config::FromArgs(
    int argc, char** argv, const std::vector<std::string>& default_files) {
  Config config;
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unexpected argument '", arg, "'"));
    }
    std::string name, value = "true";
    size_t eq = arg.find('=');
    if (eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
      if ((name == "config-file" || name == "config_file") && i + 1 < argc) {
        value = argv[++i];
      }
    }
    if (name == "config-file" || name == "config_file") {
      files.push_back(value);
    } else {
      overrides.emplace_back(name, value);
    }
  }
  if (files.empty()) {
    for (const auto& f : default_files) {
      if (std::ifstream(f)) files.push_back(f);
    }
  }
  for (const auto& f : files) {
    absl::Status s = config.LoadFile(f);
    if (!s.ok()) return s;
  }
  for (auto& [name, value] : overrides) {
    size_t dot = name.find('.');
    if (dot == std::string::npos) {
      config.Set("DEFAULT", name, value);
    } else {
      config.Set(name.substr(0, dot), name.substr(dot + 1), value);
    }
  }
  return config;
}

void Config::Set(absl::string_view section, absl::string_view key,
                 std::string value) {
  values_[std::string(section)][std::string(key)] = std::move(value);
}

bool Config::Has(absl::string_view section, absl::string_view key) const {
  auto s = values_.find(std::string(section));
  return s != values_.end() && s->second.count(std::string(key)) > 0;
}

std::string Config::GetString(absl::string_view section, absl::string_view key,
                              absl::string_view fallback) const {
  auto s = values_.find(std::string(section));
  if (s == values_.end()) return std::string(fallback);
  auto k = s->second.find(std::string(key));
  return k == s->second.end() ? std::string(fallback) : k->second;
}

int Config::GetInt(absl::string_view section, absl::string_view key,
                   int fallback) const {
  int v;
  return absl::SimpleAtoi(GetString(section, key, ""), &v) ? v : fallback;
}

double Config::GetDouble(absl::string_view section, absl::string_view key,
                         double fallback) const {
  double v;
  return absl::SimpleAtod(GetString(section, key, ""), &v) ? v : fallback;
}

bool Config::GetBool(absl::string_view section, absl::string_view key,
                     bool fallback) const {
  std::string v = absl::AsciiStrToLower(GetString(section, key, ""));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return fallback;
}

std::vector<std::string> Config::GetList(absl::string_view section,
                                         absl::string_view key) const {
  std::vector<std::string> out;
  for (absl::string_view part :
       absl::StrSplit(GetString(section, key, ""), ',', absl::SkipEmpty())) {
    absl::string_view p = absl::StripAsciiWhitespace(part);
    if (!p.empty()) out.emplace_back(p);
  }
  return out;
}

}  // namespace shareplane
