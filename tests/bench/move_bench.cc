// Move benchmark: the real daemons, two agents on libvirt's test driver,
// `servers` running servers with an NFS share each. All of them are
// cold-migrated to the other host (to VERIFY_RESIZE), confirmed, migrated
// back and reverted, `clients` at a time. Prints, per phase, the time from
// the request to the status the user waits for, and the throughput: what a
// host drain costs in the control plane (grant, stop, start, revoke).
// (The test driver's hosts have room for about 16 such servers moving at
// once: a move holds room on both hosts; more get Nova's NoValidHost.)
//
//   build/tests/bench/move_bench [servers=16] [clients=8]
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/bench/latencies.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;

int main(int argc, char** argv) {
  const int servers = argc > 1 ? std::atoi(argv[1]) : 16;
  const int clients = argc > 2 ? std::atoi(argv[2]) : 8;
  ScopedServices services;
  int failures = 0;
  {
    Stack stack;
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartCompute("hv1");
    stack.StartCompute("hv2");
    stack.StartApi();
    std::vector<std::string> ids;
    for (int i = 0; i < servers; ++i) {
      const std::string server = stack.BootServer(/*stopped=*/true);
      const std::string share = stack.CreateShare();
      stack.AttachShare(server, share);
      stack.Api("POST", "/v2.1/servers/" + server + "/action",
                R"({"os-start": null})");
      ids.push_back(server);
    }
    for (const std::string& id : ids) {
      WaitUntil([&] { return stack.ServerStatus(id) == "ACTIVE"; });
    }
    std::printf(
        "move_bench: %d running servers with a share, %d clients, "
        "%d cores\n",
        servers, clients,
        static_cast<int>(std::thread::hardware_concurrency()));
    auto act = [&](int i, const char* body, const char* then) {
      HttpResponse r = stack.Api("POST", "/v2.1/servers/" + ids[i] + "/action",
                                 body, "admin:admin");
      if (r.status / 100 != 2) {
        std::fprintf(stderr, "move_bench: %d %s\n", r.status, r.body.c_str());
        return false;
      }
      return WaitUntil([&] { return stack.ServerStatus(ids[i]) == then; },
                       std::chrono::seconds(120));
    };
    struct Step {
      const char *what, *body, *then;
    };
    for (const Step& step :
         {Step{"migrate (to VERIFY_RESIZE)", R"({"migrate": null})",
               "VERIFY_RESIZE"},
          Step{"confirm (to ACTIVE)", R"({"confirmResize": null})", "ACTIVE"},
          Step{"migrate back", R"({"migrate": null})", "VERIFY_RESIZE"},
          Step{"revert (to ACTIVE)", R"({"revertResize": null})", "ACTIVE"}}) {
      Latencies l;
      failures += Phase(step.what, servers, clients, l,
                        [&](int i) { return act(i, step.body, step.then); });
    }
  }
  return failures == 0 ? 0 : 1;
}
