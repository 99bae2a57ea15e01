// What the tests of servers that leave or change hosts share (shelve_test,
// move_test): a stack with two agents (hv1, hv2), a server with an NFS
// share, the server as an admin sees it, and each host's domains.
#ifndef SHAREPLANE_TESTS_INTEGRATION_TWO_HOSTS_H_
#define SHAREPLANE_TESTS_INTEGRATION_TWO_HOSTS_H_

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tests/support/stack.h"

namespace shareplane::testing {

// The server as the admin sees it (with OS-EXT-SRV-ATTR:host).
inline nlohmann::json Shown(Stack& stack, const std::string& id) {
  return nlohmann::json::parse(
      stack.Api("GET", "/v2.1/servers/" + id, "", "admin:admin")
          .body)["server"];
}

// `status` with no task in flight, within 30 s.
inline bool Settles(Stack& stack, const std::string& id,
                    const std::string& status) {
  return WaitUntil(
      [&] {
        nlohmann::json s = Shown(stack, id);
        return s["status"] == status && s["OS-EXT-STS:task_state"].is_null();
      },
      std::chrono::seconds(30));
}

// The storage address a test host registers with: hv<N> -> 192.0.2.<9+N>.
inline std::string StorageIp(const std::string& host) {
  return "192.0.2." + std::to_string(9 + std::stoi(host.substr(2)));
}

struct TwoHostStack {
  Stack stack;
  explicit TwoHostStack(const std::string& extra = "",
                        const std::string& crash_at = "")
      : stack(extra) {
    stack.StartEmulator();
    stack.StartConductor(crash_at);
    stack.StartCompute("hv1");
    stack.StartCompute("hv2");
    stack.StartApi();
  }
  // A server with an NFS share, running with it active (or stopped with it
  // inactive).
  std::pair<std::string, std::string> WithShare(bool running = true) {
    const std::string server = stack.BootServer(/*stopped=*/true);
    const std::string share = stack.CreateShare();
    stack.AttachShare(server, share);
    if (running) {
      REQUIRE(stack
                  .Api("POST", "/v2.1/servers/" + server + "/action",
                       R"({"os-start": null})")
                  .status == 202);
      REQUIRE(WaitUntil(
          [&] { return stack.ShareStatus(server, share) == "active"; }));
    }
    return {server, share};
  }
  // The server's domain on `host`: "running", "shutoff" or "absent".
  std::string Domain(const std::string& host, const std::string& server) {
    const agent::v1::HostState state = stack.HostState(host);
    for (const auto& d : state.domains()) {
      if (d.server_uuid() == server) return d.domain_state();
    }
    return "absent";
  }
};

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_INTEGRATION_TWO_HOSTS_H_
