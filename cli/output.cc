#include "cli/output.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace shareplane::cli {
namespace {

using ojson = nlohmann::ordered_json;

// Indexes of the selected columns, in the order -c named them.
absl::StatusOr<std::vector<size_t>> Select(
    const std::vector<std::string>& columns, const OutputOptions& options) {
  std::vector<size_t> out;
  if (options.columns.empty()) {
    for (size_t i = 0; i < columns.size(); ++i) out.push_back(i);
    return out;
  }
  for (const std::string& want : options.columns) {
    auto it = std::find(columns.begin(), columns.end(), want);
    if (it == columns.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("No such column: ", want, " (choose from ",
                       absl::StrJoin(columns, ", "), ")"));
    }
    out.push_back(static_cast<size_t>(it - columns.begin()));
  }
  return out;
}

std::string YamlScalar(const ojson& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    const bool plain =
        !s.empty() &&
        s.find_first_of(":#'\"{}[],&*!|>%@`\n") == std::string::npos &&
        s.front() != ' ' && s.back() != ' ' && s != "true" && s != "false" &&
        s != "null" && s.find_first_not_of("0123456789.-") != std::string::npos;
    return plain ? s : ojson(s).dump();
  }
  return v.dump();
}

// Renders rows as an OSC table: +---+ borders, left-aligned cells, one
// physical line per cell line.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows,
                std::ostream& out) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      for (absl::string_view line : absl::StrSplit(row[i], '\n')) {
        width[i] = std::max(width[i], line.size());
      }
    }
  }
  std::string rule = "+";
  for (size_t w : width) rule += std::string(w + 2, '-') + "+";
  auto line = [&](const std::vector<std::string>& cells) {
    std::vector<std::vector<std::string>> split;
    size_t height = 1;
    for (const std::string& c : cells) {
      split.push_back(absl::StrSplit(c, '\n'));
      height = std::max(height, split.back().size());
    }
    for (size_t h = 0; h < height; ++h) {
      out << "|";
      for (size_t i = 0; i < cells.size(); ++i) {
        const std::string text = h < split[i].size() ? split[i][h] : "";
        out << " " << text << std::string(width[i] - text.size(), ' ') << " |";
      }
      out << "\n";
    }
  };
  out << rule << "\n";
  line(header);
  out << rule << "\n";
  for (const auto& row : rows) line(row);
  if (!rows.empty()) out << rule << "\n";
}

}  // namespace

absl::StatusOr<Format> ParseFormat(const std::string& name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "yaml") return Format::kYaml;
  if (name == "value") return Format::kValue;
  return absl::InvalidArgumentError(absl::StrCat(
      "Invalid format '", name, "' (choose from table, json, yaml, value)"));
}

std::string Cell(const ojson& value) {
  if (value.is_null()) return "None";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_array()) {
    std::vector<std::string> parts;
    for (const ojson& v : value) parts.push_back(Cell(v));
    return absl::StrJoin(parts, ", ");
  }
  if (value.is_object()) {
    // Nested objects flatten to parent.child='value'.
    std::vector<std::string> parts;
    std::function<void(const std::string&, const ojson&)> add =
        [&](const std::string& prefix, const ojson& object) {
          for (const auto& [k, v] : object.items()) {
            if (v.is_object() && !v.empty()) {
              add(prefix + k + ".", v);
            } else {
              parts.push_back(absl::StrCat(prefix, k, "='", Cell(v), "'"));
            }
          }
        };
    add("", value);
    return absl::StrJoin(parts, ", ");
  }
  return value.dump();
}

absl::Status PrintListing(const Listing& listing, const OutputOptions& options,
                          std::ostream& out) {
  auto selected = Select(listing.columns, options);
  if (!selected.ok()) return selected.status();
  switch (options.format) {
    case Format::kTable: {
      std::vector<std::string> header;
      for (size_t i : *selected) header.push_back(listing.columns[i]);
      std::vector<std::vector<std::string>> rows;
      for (const auto& row : listing.rows) {
        std::vector<std::string> cells;
        for (size_t i : *selected) cells.push_back(Cell(row[i]));
        rows.push_back(std::move(cells));
      }
      PrintTable(header, rows, out);
      break;
    }
    case Format::kJson: {
      ojson all = ojson::array();
      for (const auto& row : listing.rows) {
        ojson o = ojson::object();
        for (size_t i : *selected) o[listing.columns[i]] = row[i];
        all.push_back(std::move(o));
      }
      out << all.dump(2) << "\n";
      break;
    }
    case Format::kYaml:
      if (listing.rows.empty()) out << "[]\n";
      for (const auto& row : listing.rows) {
        bool first = true;
        for (size_t i : *selected) {
          out << (first ? "- " : "  ") << listing.columns[i] << ": "
              << YamlScalar(row[i]) << "\n";
          first = false;
        }
      }
      break;
    case Format::kValue:
      for (const auto& row : listing.rows) {
        std::vector<std::string> cells;
        for (size_t i : *selected) cells.push_back(Cell(row[i]));
        out << absl::StrJoin(cells, " ") << "\n";
      }
      break;
  }
  return absl::OkStatus();
}

absl::Status PrintRecord(const Record& record, const OutputOptions& options,
                         std::ostream& out) {
  std::vector<std::string> names;
  for (const auto& [k, v] : record) names.push_back(k);
  auto selected = Select(names, options);
  if (!selected.ok()) return selected.status();
  switch (options.format) {
    case Format::kTable: {
      std::vector<std::vector<std::string>> rows;
      for (size_t i : *selected) {
        rows.push_back({record[i].first, Cell(record[i].second)});
      }
      PrintTable({"Field", "Value"}, rows, out);
      break;
    }
    case Format::kJson: {
      ojson o = ojson::object();
      for (size_t i : *selected) o[record[i].first] = record[i].second;
      out << o.dump(2) << "\n";
      break;
    }
    case Format::kYaml:
      for (size_t i : *selected) {
        out << record[i].first << ": " << YamlScalar(record[i].second) << "\n";
      }
      break;
    case Format::kValue:
      for (size_t i : *selected) out << Cell(record[i].second) << "\n";
      break;
  }
  return absl::OkStatus();
}

}  // namespace shareplane::cli
