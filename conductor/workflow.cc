#include "conductor/workflow.h"

#include "absl/strings/match.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

AccessTarget AccessTargetFor(const ShareMapping& m, const ComputeHost& host,
                             const WorkflowOptions& options) {
  if (m.share_proto == "CEPHFS") return {"cephx", options.cephx_id};
  return {"ip", host.storage_ip};
}

ManilaAuth AuthFor(const task::v1::Task& task, const WorkflowOptions& options) {
  return ManilaAuth{task.user_id() + ":" + task.project_id(),
                    options.service_token};
}

std::optional<ManilaAccessRule> FindRule(
    const std::vector<ManilaAccessRule>& rules, const AccessTarget& target) {
  auto normalize = [&](std::string s) {
    if (target.type == "ip" && absl::EndsWith(s, "/32")) s.resize(s.size() - 3);
    return s;
  };
  for (const auto& r : rules) {
    if (r.access_type == target.type &&
        normalize(r.access_to) == normalize(target.to)) {
      return r;
    }
  }
  return std::nullopt;
}

}  // namespace shareplane
