// Configuration: INI files in the style of nova.conf ([DEFAULT], [api],
// [database], ...) with command-line overrides.
//
//   shareplane-api --config-file /etc/shareplane/shareplane.conf
//       --api.listen_port=9774 --debug
//
// `--section.key=value` overrides a key; `--key=value` without a dot means
// [DEFAULT]; a bare `--flag` sets it to "true". Later files and flags win.
// Not thread-safe for writes; read-only use after loading is safe.
#ifndef SHAREPLANE_COMMON_CORE_CONFIG_H_
#define SHAREPLANE_COMMON_CORE_CONFIG_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shareplane {

// `s` without surrounding white space and one pair of matching quotes
// (' or "), as YAML and policy files write values.
std::string StripQuotes(absl::string_view s);

class Config {
 public:
  // Parses INI text. InvalidArgument names the line that is wrong.
  absl::Status ParseIni(absl::string_view text, absl::string_view origin);
  absl::Status LoadFile(const std::string& path);
  // Loads every --config-file and applies every override, in order.
  // Default files are used only when no --config-file is given and they
  // exist.
  static absl::StatusOr<Config> FromArgs(
      int argc, char** argv, const std::vector<std::string>& default_files);

  void Set(absl::string_view section, absl::string_view key, std::string value);
  bool Has(absl::string_view section, absl::string_view key) const;
  std::string GetString(absl::string_view section, absl::string_view key,
                        absl::string_view fallback) const;
  int GetInt(absl::string_view section, absl::string_view key,
             int fallback) const;
  double GetDouble(absl::string_view section, absl::string_view key,
                   double fallback) const;
  bool GetBool(absl::string_view section, absl::string_view key,
               bool fallback) const;
  std::vector<std::string> GetList(absl::string_view section,
                                   absl::string_view key) const;

 private:
  std::map<std::string, std::map<std::string, std::string>> values_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_CONFIG_H_
