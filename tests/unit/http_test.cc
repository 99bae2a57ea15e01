#include "common/http/http.h"

#include <catch2/catch.hpp>

using namespace shareplane;

TEST_CASE("HTTP server and client round-trip over loopback", "[unit]") {
  HttpServer server(
      [](const HttpRequest& r) {
        HttpResponse out;
        out.status = r.path == "/missing" ? 404 : 200;
        out.SetHeader("X-Echo-Method", r.method);
        out.body =
            r.path + "?" + r.query + "|" + r.Header("x-token") + "|" + r.body;
        return out;
      },
      2);
  auto port = server.Listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  server.Start();
  const std::string base = "http://127.0.0.1:" + std::to_string(*port);

  HttpClientRequest req;
  req.method = "POST";
  req.url = base + "/a/b?x=1&y=%20z";
  req.headers = {{"X-Token", "t1"}};
  req.body = "{\"k\": 1}";
  auto resp = HttpFetch(req);
  REQUIRE(resp.ok());
  CHECK(resp->status == 200);
  CHECK(resp->Header("x-echo-method") == "POST");
  CHECK(resp->body == "/a/b?x=1&y=%20z|t1|{\"k\": 1}");

  req.method = "GET";
  req.url = base + "/missing";
  req.body.clear();
  resp = HttpFetch(req);
  REQUIRE(resp.ok());
  CHECK(resp->status == 404);
  server.Stop();
}

TEST_CASE("an unreachable peer is Unavailable", "[unit]") {
  HttpServer server([](const HttpRequest&) { return HttpResponse{}; }, 1);
  auto port = server.Listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  server.Stop();  // never started: the port is closed again
  HttpClientRequest req;
  req.url = "http://127.0.0.1:1/";
  CHECK(HttpFetch(req).status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("query strings are decoded", "[unit]") {
  auto q = ParseQuery("share_id=abc&x=a%2Fb&flag&sp=a+b");
  CHECK(q["share_id"] == "abc");
  CHECK(q["x"] == "a/b");
  CHECK(q.count("flag") == 1);
  CHECK(q["sp"] == "a b");
}
