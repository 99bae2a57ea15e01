// The steps the server workflows share (server_workflows.cc,
// shelve_workflows.cc): load a server whose task it is, build the agent's
// spec, record the outcome.
#ifndef SHAREPLANE_CONDUCTOR_SERVER_STEPS_H_
#define SHAREPLANE_CONDUCTOR_SERVER_STEPS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pg/store.h"
#include "conductor/workflow.h"
#include "shareplane/agent/v1/agent.pb.h"

namespace shareplane {

// Nova's power states.
inline constexpr int kRunning = 1;
inline constexpr int kShutdown = 4;

struct Loaded {
  Server server;
  ComputeHost host;
  std::optional<Flavor> flavor;  // nullopt: gone
  std::vector<ShareMapping> mappings;
};

// Loads the server if its task_state is `expected`, and queues
// `notification`.start about it (none when ""); nullopt when there is
// nothing to do: a redelivered task (its event is there), or a request
// another one overtook (a delete during a stop), whose action then gets
// `event` saying so.
absl::StatusOr<std::optional<Loaded>> Load(WorkflowDeps& deps,
                                           const task::v1::Task& task,
                                           const std::string& expected,
                                           const std::string& event,
                                           const std::string& notification);

// Ends the task's action with `event` saying another request came first
// (or the server is gone); once.
void RecordServerOvertaken(pqxx::transaction_base& w,
                           const task::v1::Task& task,
                           const std::optional<Server>& server,
                           const std::string& event);

// The spec the agent needs; shares in `statuses` become filesystems. CephFS
// keys come from Manila's rule list.
absl::StatusOr<agent::v1::ServerSpec> BuildSpec(
    WorkflowDeps& deps, const task::v1::Task& task, const Loaded& l,
    const std::set<std::string>& statuses);

// Applies the outcome: the server's new state and, for every mapping in
// `from`, its new status. Compare-and-set on the server; mappings that
// changed meanwhile are left alone. With `notification` and no error, its
// ".end" (instance.create alone has an ".error").
absl::Status Record(WorkflowDeps& deps, const task::v1::Task& task,
                    const Loaded& l, const std::string& vm_state,
                    int power_state, const std::set<std::string>& from,
                    const std::string& mapping_status, const std::string& event,
                    const std::string& error,
                    const std::string& notification = "");

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_SERVER_STEPS_H_
