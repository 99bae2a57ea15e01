// Health checks and Prometheus metrics of the three daemons, after a real
// attach went through them; failing dependencies turn a health check 503.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

json Health(const std::string& base, int* status = nullptr) {
  HttpResponse r = Http("GET", base + "/healthcheck");
  if (status) *status = r.status;
  return json::parse(r.body, nullptr, false);
}

// The value of one sample line ("name{labels} value"), or -1.
double Sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  at += series.size() + 2;
  return std::stod(metrics.substr(at, metrics.find('\n', at) - at));
}

}  // namespace

TEST_CASE("every daemon serves /healthcheck and /metrics",
          "[integration][ops]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();

  const json ok_checks = {{"database", "OK"}, {"rabbitmq", "OK"}};
  int status = 0;
  CHECK(Health(stack.api_url(), &status) ==
        json{{"status", "OK"}, {"checks", ok_checks}});
  CHECK(status == 200);
  CHECK(Health(stack.conductor_ops_url(), &status) ==
        json{{"status", "OK"}, {"checks", ok_checks}});
  CHECK(status == 200);
  REQUIRE(WaitUntil([&] {
    return Health(stack.compute_ops_url()) ==
           json{{"status", "OK"},
                {"checks", {{"libvirt", "OK"}, {"conductor", "OK"}}}};
  }));

  // One attach through everything.
  const std::string server = stack.CreateServer();
  const std::string share = stack.CreateShare();
  stack.AttachShare(server, share);

  const std::string api = Http("GET", stack.api_url() + "/metrics").body;
  CHECK(Sample(api,
               "shareplane_api_requests_total{method=\"POST\",route=\"/v2.1/"
               "servers/{id}/shares\",status=\"201\"}") == 1);
  CHECK(Sample(api,
               "shareplane_api_request_duration_seconds_count{method=\"POST\","
               "route=\"/v2.1/servers/{id}/shares\",status=\"201\"}") == 1);
  CHECK(
      Sample(
          api,
          "shareplane_api_request_duration_seconds_bucket{method=\"POST\","
          "route=\"/v2.1/servers/{id}/shares\",status=\"201\",le=\"+Inf\"}") ==
      1);
  CHECK_THAT(api, Catch::Contains("# TYPE shareplane_outbox_depth gauge"));
  // The API checked the share in Manila.
  CHECK(
      Sample(api,
             "shareplane_manila_request_duration_seconds_count{method=\"GET\","
             "call=\"/shares/{id}\"}") == 1);

  const std::string conductor =
      Http("GET", stack.conductor_ops_url() + "/metrics").body;
  CHECK(Sample(conductor,
               "shareplane_workflow_runs_total{kind=\"attach_share\",result="
               "\"done\"}") >= 1);
  CHECK(
      Sample(conductor,
             "shareplane_workflow_duration_seconds_count{kind=\"attach_share\","
             "result=\"done\"}") >= 1);
  CHECK(WaitUntil([&] {
    return Sample(Http("GET", stack.conductor_ops_url() + "/metrics").body,
                  "shareplane_agent_heartbeats_total{host=\"hv1\",result="
                  "\"ok\"}") >= 1;
  }));
  CHECK_THAT(conductor,
             Catch::Contains("shareplane_manila_request_duration_seconds_count{"
                             "method=\"POST\",call=\"/shares/{id}/action\"}"));
  CHECK(Sample(conductor, "shareplane_outbox_depth") >= 0);
  const std::string compute =
      Http("GET", stack.compute_ops_url() + "/metrics").body;
  CHECK(Sample(compute,
               "shareplane_agent_registry_calls_total{result=\"ok\"}") >= 1);

  // Failing dependencies: the agent loses its conductor.
  stack.StopConductor();
  REQUIRE(WaitUntil([&] {
    int s = 0;
    json h = Health(stack.compute_ops_url(), &s);
    return s == 503 && h["status"] == "FAIL" &&
           h["checks"]["libvirt"] == "OK" && h["checks"]["conductor"] != "OK";
  }));
  // An API whose broker is unreachable still answers, and says why.
  Stack broken("[DEFAULT]\ntransport_url = amqp://guest:guest@127.0.0.1:" +
               std::to_string(FreePort()) + "\n");
  broken.StartApi();
  json h = Health(broken.api_url(), &status);
  CHECK(status == 503);
  CHECK(h["checks"]["database"] == "OK");
  CHECK(h["checks"]["rabbitmq"] != "OK");
}

TEST_CASE("an API whose port was taken meanwhile starts again on free ones",
          "[integration]") {
  Stack stack;
  // Another process takes the port the stack chose for the API (as another
  // test's daemon may, between FreePort() and the API's bind).
  const std::string url = stack.api_url();
  const std::string port = url.substr(url.rfind(':') + 1);
  Process holder("port-holder", {"/usr/bin/python3", "-c",
                                 "import socket, time\n"
                                 "s = socket.socket()\n"
                                 "s.bind(('127.0.0.1', " +
                                     port +
                                     "))\n"
                                     "s.listen(1)\n"
                                     "print('listening', flush=True)\n"
                                     "time.sleep(120)\n"});
  REQUIRE(WaitUntil(
      [&] { return holder.Log().find("listening") != std::string::npos; }));
  stack.StartApi();
  CHECK(stack.api_url() != url);
  CHECK(Http("GET", stack.api_url() + "/").status == 200);
}
