// Prometheus text rendering and route templates.
#include "common/core/metrics.h"

#include <catch2/catch.hpp>

using namespace shareplane;

TEST_CASE("metrics render in Prometheus' text format", "[unit]") {
  Metrics m;
  m.Describe("demo_requests_total", "Requests");
  m.Describe("demo_seconds", "Latency");
  m.Increment("demo_requests_total", {{"route", "/a"}, {"status", "200"}});
  m.Increment("demo_requests_total", {{"route", "/a"}, {"status", "200"}}, 2);
  m.Increment("demo_requests_total", {{"route", "say \"hi\"\n"}});
  m.Observe("demo_seconds", {{"route", "/a"}}, 0.003);
  m.Observe("demo_seconds", {{"route", "/a"}}, 0.2);
  m.Observe("demo_seconds", {{"route", "/a"}}, 100);
  m.GaugeFunction("demo_depth", "Depth", [] { return 7.0; });
  m.GaugeFunction("demo_broken", "Unavailable", [] { return NAN; });
  m.Describe("demo_unused_total", "Never sampled");
  const std::string text = m.Render();
  CHECK_THAT(text,
             Catch::Contains("# HELP demo_requests_total Requests\n"
                             "# TYPE demo_requests_total counter\n") &&
                 Catch::Contains(
                     "demo_requests_total{route=\"/a\",status=\"200\"} 3\n") &&
                 Catch::Contains(
                     "demo_requests_total{route=\"say \\\"hi\\\"\\n\"} 1\n"));
  // Histogram: the kind survives a description made first; buckets are
  // cumulative, with +Inf, sum and count.
  CHECK_THAT(
      text,
      Catch::Contains("# TYPE demo_seconds histogram\n") &&
          Catch::Contains(
              "demo_seconds_bucket{route=\"/a\",le=\"0.001\"} 0\n") &&
          Catch::Contains(
              "demo_seconds_bucket{route=\"/a\",le=\"0.005\"} 1\n") &&
          Catch::Contains(
              "demo_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n") &&
          Catch::Contains("demo_seconds_bucket{route=\"/a\",le=\"30\"} 2\n") &&
          Catch::Contains(
              "demo_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n") &&
          Catch::Contains("demo_seconds_sum{route=\"/a\"} 100.203\n") &&
          Catch::Contains("demo_seconds_count{route=\"/a\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE demo_depth gauge\ndemo_depth 7\n"));
  CHECK(text.find("demo_broken") == std::string::npos);
  CHECK(text.find("demo_unused_total") == std::string::npos);
}

TEST_CASE("route templates keep route words and hide ids", "[unit]") {
  CHECK(RouteTemplate("/v2.1/servers/6f0e4c1a-0000-4000-8000-000000000000/"
                      "shares/abc?x=1") == "/v2.1/servers/{id}/shares/{id}");
  CHECK(RouteTemplate("/v2.1/flavors/m1.tiny/os-extra_specs/hw:cpu") ==
        "/v2.1/flavors/{id}/os-extra_specs/{id}");
  CHECK(RouteTemplate("/v2/shares/s1/action") == "/v2/shares/{id}/action");
  CHECK(RouteTemplate("/") == "/");
  CHECK(RouteTemplate("/v2.1/servers/detail") == "/v2.1/servers/detail");
}
