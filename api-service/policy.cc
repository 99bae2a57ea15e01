#include "api-service/policy.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/core/config.h"
#include "common/core/json_body.h"

namespace shareplane {
namespace {

const std::map<std::string, std::string>& DefaultRules() {
  static const auto* rules = new std::map<std::string, std::string>{
      {"context_is_admin", "role:admin"},
      {"admin_api", "is_admin:True"},
      {"project_member_api", "role:member and project_id:%(project_id)s"},
      {"project_reader_api", "role:reader and project_id:%(project_id)s"},
      {"project_member_or_admin", "rule:project_member_api or rule:admin_api"},
      {"project_reader_or_admin", "rule:project_reader_api or rule:admin_api"},
      {"os_compute_api:os-server-shares:index", "rule:project_reader_or_admin"},
      {"os_compute_api:os-server-shares:show", "rule:project_reader_or_admin"},
      {"os_compute_api:os-server-shares:create",
       "rule:project_member_or_admin"},
      {"os_compute_api:os-server-shares:delete",
       "rule:project_member_or_admin"},
      {"os_compute_api:servers:index", "rule:project_reader_or_admin"},
      {"os_compute_api:servers:detail", "rule:project_reader_or_admin"},
      {"os_compute_api:servers:index:get_all_tenants", "rule:admin_api"},
      {"os_compute_api:servers:detail:get_all_tenants", "rule:admin_api"},
      {"os_compute_api:servers:show", "rule:project_reader_or_admin"},
      {"os_compute_api:servers:create", "rule:project_member_or_admin"},
      {"os_compute_api:servers:delete", "rule:project_member_or_admin"},
      {"os_compute_api:servers:start", "rule:project_member_or_admin"},
      {"os_compute_api:servers:stop", "rule:project_member_or_admin"},
      {"os_compute_api:servers:reboot", "rule:project_member_or_admin"},
      {"os_compute_api:servers:rebuild", "rule:project_member_or_admin"},
      {"os_compute_api:os-shelve:shelve", "rule:project_member_or_admin"},
      {"os_compute_api:os-shelve:unshelve", "rule:project_member_or_admin"},
      {"os_compute_api:os-shelve:shelve_offload", "rule:admin_api"},
      {"os_compute_api:servers:resize", "rule:project_member_or_admin"},
      {"os_compute_api:servers:confirm_resize", "rule:project_member_or_admin"},
      {"os_compute_api:servers:revert_resize", "rule:project_member_or_admin"},
      {"os_compute_api:os-migrate-server:migrate", "rule:admin_api"},
      {"os_compute_api:os-migrate-server:migrate:host", "rule:admin_api"},
      {"os_compute_api:os-evacuate", "rule:admin_api"},
      {"os_compute_api:os-migrations:index", "rule:admin_api"},
      {"os_compute_api:os-services:update", "rule:admin_api"},
      {"os_compute_api:os-extended-server-attributes", "rule:admin_api"},
      {"os_compute_api:os-flavor-manage:create", "rule:admin_api"},
      {"os_compute_api:os-flavor-extra-specs:index", "@"},
      {"os_compute_api:os-flavor-extra-specs:show", "@"},
      {"os_compute_api:os-flavor-extra-specs:create", "rule:admin_api"},
      {"os_compute_api:os-flavor-extra-specs:update", "rule:admin_api"},
      {"os_compute_api:os-flavor-extra-specs:delete", "rule:admin_api"},
      {"os_compute_api:os-services:list", "rule:admin_api"},
      {"os_compute_api:os-hypervisors:list-detail", "rule:admin_api"},
      {"os_compute_api:os-instance-actions:list",
       "rule:project_reader_or_admin"},
      {"os_compute_api:os-instance-actions:show",
       "rule:project_reader_or_admin"},
      {"os_compute_api:os-instance-actions:events", "rule:admin_api"},
      {"os_compute_api:os-instance-actions:events:details", "rule:admin_api"},
      {"os_compute_api:servers:show:host_status", "rule:admin_api"},
      {"os_compute_api:servers:show:flavor-extra-specs",
       "rule:project_reader_or_admin"},
  };
  return *rules;
}

// As oslo.policy does: split on white space, then peel leading '(' and
// trailing ')' off each word, so "%(project_id)s" stays one check.
std::vector<std::string> Tokenize(const std::string& expr) {
  std::vector<std::string> out;
  for (absl::string_view word :
       absl::StrSplit(expr, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    while (!word.empty() && word.front() == '(') {
      out.push_back("(");
      word.remove_prefix(1);
    }
    int closing = 0;
    while (!word.empty() && word.back() == ')') {
      ++closing;
      word.remove_suffix(1);
    }
    if (!word.empty()) out.emplace_back(word);
    for (int i = 0; i < closing; ++i) out.push_back(")");
  }
  return out;
}

// Recursive descent: or_expr := and_expr ("or" and_expr)*;
// and_expr := not_expr ("and" not_expr)*; not_expr := "not" not_expr | atom;
// atom := "(" or_expr ")" | check.
class Evaluator {
 public:
  Evaluator(const std::map<std::string, std::string>& rules,
            const RequestContext& ctx, const std::string& project, int depth)
      : rules_(rules), ctx_(ctx), project_(project), depth_(depth) {}

  absl::StatusOr<bool> Eval(const std::string& expr) {
    tokens_ = Tokenize(expr);
    pos_ = 0;
    if (tokens_.empty()) return true;  // "" allows, as in oslo.policy
    auto v = Or();
    if (v.ok() && pos_ != tokens_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected '", tokens_[pos_], "' in '", expr, "'"));
    }
    return v;
  }

 private:
  bool At(const char* t) const {
    return pos_ < tokens_.size() && absl::EqualsIgnoreCase(tokens_[pos_], t);
  }
  absl::StatusOr<bool> Or() {
    auto left = And();
    while (left.ok() && At("or")) {
      ++pos_;
      auto right = And();
      if (!right.ok()) return right;
      left = *left || *right;
    }
    return left;
  }
  absl::StatusOr<bool> And() {
    auto left = Not();
    while (left.ok() && At("and")) {
      ++pos_;
      auto right = Not();
      if (!right.ok()) return right;
      left = *left && *right;
    }
    return left;
  }
  absl::StatusOr<bool> Not() {
    if (At("not")) {
      ++pos_;
      auto v = Not();
      if (!v.ok()) return v;
      return !*v;
    }
    return Atom();
  }
  absl::StatusOr<bool> Atom() {
    if (pos_ >= tokens_.size()) {
      return absl::InvalidArgumentError("unexpected end of rule");
    }
    if (At("(")) {
      ++pos_;
      auto v = Or();
      if (!v.ok()) return v;
      if (!At(")")) return absl::InvalidArgumentError("missing ')'");
      ++pos_;
      return v;
    }
    return Check(tokens_[pos_++]);
  }
  absl::StatusOr<bool> Check(const std::string& token) {
    if (token == "@") return true;
    if (token == "!") return false;
    size_t colon = token.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed check '", token, "'"));
    }
    const std::string kind = token.substr(0, colon);
    const std::string value = token.substr(colon + 1);
    if (kind == "role") {
      return ctx_.HasRole(absl::AsciiStrToLower(value));
    }
    if (kind == "is_admin") {
      return ctx_.is_admin == absl::EqualsIgnoreCase(value, "true");
    }
    if (kind == "rule") {
      auto it = rules_.find(value);
      if (it == rules_.end() || depth_ > 20) return false;
      return Evaluator(rules_, ctx_, project_, depth_ + 1).Eval(it->second);
    }
    std::string actual;
    if (kind == "project_id")
      actual = ctx_.project_id;
    else if (kind == "user_id")
      actual = ctx_.user_id;
    else
      return false;  // unknown checks deny, as oslo.policy does
    std::string expected = value;
    if (value == "%(project_id)s")
      expected = project_;
    else if (value == "%(user_id)s")
      expected = ctx_.user_id;
    return !actual.empty() && actual == expected;
  }

  const std::map<std::string, std::string>& rules_;
  const RequestContext& ctx_;
  const std::string& project_;
  int depth_;
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status Policy::ParseFile(const std::string& text,
                               std::map<std::string, std::string>& rules) {
  std::string trimmed(absl::StripAsciiWhitespace(text));
  if (absl::StartsWith(trimmed, "{")) {
    auto parsed = ParseJsonObject(trimmed);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("policy file is not a JSON object");
    }
    for (auto& [k, v] : parsed->items()) {
      if (!v.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("policy rule '", k, "' is not a string"));
      }
      rules[k] = v.get<std::string>();
    }
    return absl::OkStatus();
  }
  int lineno = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++lineno;
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#' || l == "---") continue;
    // The rule name may itself contain ':' only inside quotes.
    size_t sep = std::string::npos;
    if (l[0] == '"' || l[0] == '\'') {
      size_t close = l.find(l[0], 1);
      if (close != absl::string_view::npos) sep = l.find(':', close);
    } else {
      sep = l.find(": ");
    }
    if (sep == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy file line ", lineno, ": expected 'name: rule'"));
    }
    rules[StripQuotes(l.substr(0, sep))] = StripQuotes(l.substr(sep + 1));
  }
  return absl::OkStatus();
}

Policy Policy::Defaults() {
  Policy p;
  p.rules_ = DefaultRules();
  return p;
}

absl::StatusOr<Policy> Policy::Load(const std::string& path) {
  Policy p = Defaults();
  if (path.empty()) return p;
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("Cannot read policy file '", path, "'"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return FromText(text.str());
}

absl::StatusOr<Policy> Policy::FromText(const std::string& text) {
  Policy p = Defaults();
  absl::Status s = ParseFile(text, p.rules_);
  if (!s.ok()) return s;
  // Every rule must parse; evaluate each once against an empty context.
  RequestContext probe;
  for (const auto& [name, rule] : p.rules_) {
    auto v = Evaluator(p.rules_, probe, "", 0).Eval(rule);
    if (!v.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Policy rule '", name, "' does not parse: ", v.status().message()));
    }
  }
  return p;
}

bool Policy::Allows(const std::string& rule, const RequestContext& ctx,
                    const std::string& target_project) const {
  auto it = rules_.find(rule);
  if (it == rules_.end()) return false;
  auto v = Evaluator(rules_, ctx, target_project, 0).Eval(it->second);
  return v.ok() && *v;
}

absl::Status Policy::Enforce(const std::string& rule, const RequestContext& ctx,
                             const std::string& target_project) const {
  if (Allows(rule, ctx, target_project)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("Policy doesn't allow ", rule, " to be performed."));
}

}  // namespace shareplane
