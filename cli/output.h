// Output of the shareplane CLI in python-openstackclient's formats: aligned
// tables (lists with their columns, `Field | Value` for one resource), or
// json, yaml and value (`-f`), optionally limited to some columns (`-c`).
#ifndef SHAREPLANE_CLI_OUTPUT_H_
#define SHAREPLANE_CLI_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace shareplane::cli {

enum class Format { kTable, kJson, kYaml, kValue };

// "table", "json", "yaml", "value"; InvalidArgument otherwise.
absl::StatusOr<Format> ParseFormat(const std::string& name);

struct OutputOptions {
  Format format = Format::kTable;
  std::vector<std::string> columns;  // -c; empty: all
};

// A list: one row per resource, cells in `columns` order.
struct Listing {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::ordered_json>> rows;
};

// One resource: fields in display order.
using Record = std::vector<std::pair<std::string, nlohmann::ordered_json>>;

// A cell as OSC renders it: strings as is, null as "None", lists joined
// with ", ", objects as key='value' pairs.
std::string Cell(const nlohmann::ordered_json& value);

// InvalidArgument when -c names a column that does not exist.
absl::Status PrintListing(const Listing& listing, const OutputOptions& options,
                          std::ostream& out);
absl::Status PrintRecord(const Record& record, const OutputOptions& options,
                         std::ostream& out);

}  // namespace shareplane::cli

#endif  // SHAREPLANE_CLI_OUTPUT_H_
