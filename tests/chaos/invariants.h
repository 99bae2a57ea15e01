// The chaos campaign's invariants (tests/chaos/campaign.cc), checked
// against the database, Manila and the hosts' agents once a phase settled:
//
//   I1 every share mapping is final (inactive, active or error); an active
//      one is on an ACTIVE server, or on an ERROR one whose domain runs
//      (a delete that could not reach its agent)
//   I2 every mapping not in error has its host's rule in Manila, active
//   I3 every rule in Manila serves a mapping on a server of its host, and
//      every resource lock is on a rule that exists
//   I4 every mount on a host has users, and each is a server running there
//   I5 every ACTIVE server's domain runs on its host with a mount per
//      active share (an ERROR server's too); no domain runs for a SHUTOFF,
//      deleted or elsewhere placed server
//   I6 every accepted request (2xx) ended with an event in its action
#ifndef SHAREPLANE_TESTS_CHAOS_INVARIANTS_H_
#define SHAREPLANE_TESTS_CHAOS_INVARIANTS_H_

#include <string>
#include <vector>

#include "tests/support/stack.h"

namespace shareplane::testing {

// An accepted request the campaign must see ended.
struct Accepted {
  std::string server;
  std::string request_id;
  std::string op;
};

// Appends one line per violation to `v`.
void CheckInvariants(Stack& stack, const std::vector<std::string>& host_names,
                     const std::vector<std::string>& shares,
                     const std::vector<Accepted>& accepted,
                     std::vector<std::string>& v);

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_CHAOS_INVARIANTS_H_
