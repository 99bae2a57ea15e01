// Moves a compute host's storage address without an access gap: every NFS
// rule granted to the old address is granted to the new one, the new rule
// is waited for until Manila applies it, the mappings record it, and only
// then is the old rule revoked. Run by `shareplane-manage host set-ip`.
#ifndef SHAREPLANE_CONDUCTOR_HOST_ADDRESS_H_
#define SHAREPLANE_CONDUCTOR_HOST_ADDRESS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "conductor/workflow.h"

namespace shareplane {

// NotFound for an unknown host, InvalidArgument for an address that is not
// one. From the first step on the host's address is `new_ip` (attaches
// grant it; a registration with the old one is refused while rules are
// granted), so the agent's [compute] storage_ip must be changed to match.
// Idempotent: run again after a failure, it finishes what is left. Each
// share moved is written to `progress`.
absl::Status MoveHostAddress(WorkflowDeps& deps, const std::string& hostname,
                             const std::string& new_ip, std::ostream& progress);

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_HOST_ADDRESS_H_
