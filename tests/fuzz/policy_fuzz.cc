// A policy file's text (JSON or YAML lines): parsed and checked as the API
// loads it, then every rule of it evaluated for a member, an admin and a
// caller without roles. Rules may refer to each other, in cycles too.
#include <cstdint>
#include <string>

#include "api-service/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> rules;
  if (!shareplane::Policy::ParseFile(text, rules).ok()) return 0;
  auto policy = shareplane::Policy::FromText(text);
  if (!policy.ok()) return 0;
  shareplane::RequestContext member, admin, nobody;
  member.user_id = "alice";
  member.project_id = "demo";
  member.roles = {"reader", "member"};
  admin.user_id = "admin";
  admin.project_id = "admin";
  admin.roles = {"admin"};
  admin.is_admin = true;
  for (const auto& [name, rule] : rules) {
    for (const auto* ctx : {&member, &admin, &nobody}) {
      (void)policy->Allows(name, *ctx, "demo");
    }
  }
  return 0;
}
