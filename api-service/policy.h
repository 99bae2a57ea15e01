// Policy in oslo.policy's rule language (the subset OpenStack policy files
// use): "role:admin", "project_id:%(project_id)s", "user_id:%(user_id)s",
// "rule:<name>", "is_admin:True", "@" (always), "!" (never), with "and",
// "or", "not" and parentheses. Built-in defaults follow spec/SHARES.md
// section 8 and Nova's defaults; a JSON or YAML file overrides any rule.
// Thread-safe after Load.
#ifndef SHAREPLANE_API_SERVICE_POLICY_H_
#define SHAREPLANE_API_SERVICE_POLICY_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "api-service/request_context.h"

namespace shareplane {

class Policy {
 public:
  // Defaults, then the rules of `path` if not empty. InvalidArgument names
  // the rule that does not parse; NotFound when the file is missing.
  static absl::StatusOr<Policy> Load(const std::string& path);
  static Policy Defaults();
  // Defaults, then the rules of a policy file's text; the codes of Load.
  static absl::StatusOr<Policy> FromText(const std::string& text);

  // PermissionDenied "Policy doesn't allow <rule> to be performed." unless
  // `rule` allows the caller on a resource of `target_project`.
  absl::Status Enforce(const std::string& rule, const RequestContext& ctx,
                       const std::string& target_project) const;
  bool Allows(const std::string& rule, const RequestContext& ctx,
              const std::string& target_project) const;

  // Parses the text of a policy file (JSON object, or YAML "name: rule"
  // lines) into `rules`.
  static absl::Status ParseFile(const std::string& text,
                                std::map<std::string, std::string>& rules);

 private:
  std::map<std::string, std::string> rules_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_POLICY_H_
