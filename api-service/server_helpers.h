// What the server actions' files (server_service.cc, move_service.cc)
// share; not for other callers.
#ifndef SHAREPLANE_API_SERVICE_SERVER_HELPERS_H_
#define SHAREPLANE_API_SERVICE_SERVER_HELPERS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api-service/api_common.h"
#include "api-service/request_context.h"
#include "common/pg/store.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {

// Nova's 409 for an action the server's state does not allow.
absl::Status InvalidState(const std::string& op, const Server& s);
// The traits a flavor requires (trait:<NAME>=required).
std::vector<std::string> RequiredTraits(const Flavor& f);
// A fresh adminPass, as Nova makes one.
std::string AdminPass();
void Enqueue(pqxx::transaction_base& w, const ApiDeps& deps,
             const RequestContext& ctx, task::v1::TaskKind kind,
             const std::string& server_uuid, bool hard = false);
// What else must hold for `op`: the server's host up (except for a stop),
// and no share of it between states.
absl::Status CheckCanAct(pqxx::transaction_base& w, const std::string& op,
                         const Server& server,
                         const std::vector<ShareMapping>& mappings,
                         int service_down_time);
// 409 when a share of the server is attaching or detaching.
absl::Status CheckSharesSettled(const std::string& op, const Server& server,
                                const std::vector<ShareMapping>& mappings);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SERVER_HELPERS_H_
