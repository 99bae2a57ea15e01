// Hostile input against the real listeners, as an outsider sends it: raw
// bytes on a socket (framing errors, oversized parts, pipelining), bodies of
// every shape on every route that takes one, odd microversion headers, and
// the metadata API's identity header. Every case gets the expected 4xx in
// Nova's format with a request id, and the daemon still serves afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api-service/metadata_api.h"
#include "tests/support/stack.h"

using namespace shareplane::testing;
using json = nlohmann::json;
using shareplane::HttpResponse;

namespace {

int PortOf(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1));
}

// Sends `bytes` on a new connection, half-closes when `close_write`, and
// reads until the server closes (or 10 s pass).
std::string Exchange(int port, const std::string& bytes,
                     bool close_write = false) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n =
        send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close early
    sent += static_cast<size_t>(n);
  }
  if (close_write) shutdown(fd, SHUT_WR);
  std::string out;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers, lowercased names kept as sent
  std::string body;
};

// Splits a byte stream into the responses it holds.
std::vector<RawResponse> ParseResponses(const std::string& raw) {
  std::vector<RawResponse> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t head_end = raw.find("\r\n\r\n", pos);
    if (head_end == std::string::npos || raw.compare(pos, 5, "HTTP/") != 0) {
      break;
    }
    RawResponse r;
    r.head = raw.substr(pos, head_end - pos);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t length = 0;
    std::string lower = r.head;
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    size_t cl = lower.find("content-length:");
    if (cl != std::string::npos) length = std::stoul(lower.substr(cl + 15));
    r.body = raw.substr(head_end + 4, length);
    pos = head_end + 4 + length;
    out.push_back(r);
  }
  return out;
}

bool HasHeader(const RawResponse& r, const std::string& name) {
  std::string lower = r.head;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  return lower.find("\r\n" + name + ":") != std::string::npos;
}

// A Nova fault: {"<name>": {"code": <status>, "message": "..."}}.
void CheckNovaFault(const RawResponse& r, int status) {
  INFO(r.head << "\n\n" << r.body);
  CHECK(r.status == status);
  CHECK(HasHeader(r, "x-openstack-request-id"));
  json body = json::parse(r.body, nullptr, false);
  REQUIRE(body.is_object());
  REQUIRE(body.size() == 1);
  const json& fault = body.begin().value();
  CHECK(fault.value("code", 0) == status);
  CHECK(fault.contains("message"));
}

std::string Nested(size_t depth, const std::string& open,
                   const std::string& close) {
  std::string s;
  s.reserve(depth * (open.size() + close.size()));
  for (size_t i = 0; i < depth; ++i) s += open;
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

std::string Request(const std::string& method, const std::string& path,
                    const std::string& body,
                    const std::string& extra_headers = "") {
  return method + " " + path +
         " HTTP/1.1\r\nHost: localhost\r\nX-Auth-Token: admin:demo\r\n"
         "OpenStack-API-Version: compute 2.97\r\n"
         "Content-Type: application/json\r\nConnection: close\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

void CheckStillServing(int port) {
  auto rs = ParseResponses(
      Exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  REQUIRE(rs.size() == 1);
  CHECK((rs[0].status == 200 || rs[0].status == 403));
}

struct FramingCase {
  std::string name;
  std::string bytes;
  int status;  // 0: the parser may take it (served as a request)
  bool close_write = false;
};

std::vector<FramingCase> FramingCases() {
  const std::string host = "Host: localhost\r\n";
  const std::string post = "POST /v2.1/flavors HTTP/1.1\r\n" + host;
  return {
      {"garbage request line", "GARBAGE\r\n\r\n", 400},
      {"method only", "GET\r\n\r\n", 400},
      {"no version", "GET /\r\n\r\n", 400},
      {"unknown protocol", "GET / FTP/1.1\r\n\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"HTTP/9.9", "GET / HTTP/9.9\r\n" + host + "\r\n", 400},
      {"bad method characters", "G(T / HTTP/1.1\r\n" + host + "\r\n", 400},
      {"two spaces in the request line", "GET  / HTTP/1.1\r\n" + host + "\r\n",
       400},
      {"control byte in the target",
       std::string("GET /\x01 HTTP/1.1\r\n") + host + "\r\n", 400},
      {"header without colon", "GET / HTTP/1.1\r\n" + host + "Bad\r\n\r\n",
       400},
      {"space in a header name",
       "GET / HTTP/1.1\r\n" + host + "Bad Name: x\r\n\r\n", 400},
      {"non-ASCII header name",
       "GET / HTTP/1.1\r\n" + host + "N\xc3\xa4me: x\r\n\r\n", 400},
      {"NUL in a header value",
       "GET / HTTP/1.1\r\n" + host + std::string("X-A: a\0b\r\n\r\n", 12), 400},
      // RFC 9112 5.2: a server may replace the fold with a space.
      {"obsolete line folding",
       "GET / HTTP/1.1\r\n" + host +
           "X-A: a\r\n b\r\nConnection: close"
           "\r\n\r\n",
       0},
      {"bare LF line endings", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"non-numeric Content-Length", post + "Content-Length: abc\r\n\r\n", 400},
      {"negative Content-Length", post + "Content-Length: -1\r\n\r\n", 400},
      {"Content-Length with a sign", post + "Content-Length: +2\r\n\r\n{}",
       400},
      {"two different Content-Lengths",
       post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
      {"Content-Length and chunked",
       post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
              "2\r\n{}\r\n0\r\n\r\n",
       400},
      {"unknown transfer coding", post + "Transfer-Encoding: gzip\r\n\r\nxx",
       400},
      {"chunk size not hex",
       post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400},
      {"chunk size overflow",
       post + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n",
       400},
      {"chunk without its CRLF",
       post + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", 400},
      {"bad chunk extension",
       post + "Transfer-Encoding: chunked\r\n\r\n2;\x01\r\n{}\r\n0\r\n\r\n",
       400},
      {"headers then end of stream", "GET / HTTP/1.1\r\n" + host, 400, true},
      {"body shorter than Content-Length",
       post + "Content-Length: 100\r\n\r\n{}", 400, true},
      {"request line then end of stream", "GET / HTTP/1.1\r\n", 400, true},
      {"body over 1 MiB",
       post + "Content-Length: 2097152\r\n\r\n" + std::string(65536, ' '), 413},
      {"chunked body over 1 MiB",
       post + "Transfer-Encoding: chunked\r\n\r\n200000\r\n" +
           std::string(65536, ' '),
       413},
      {"target over 8 KiB",
       "GET /v2.1/" + std::string(9000, 'a') + " HTTP/1.1\r\n" + host + "\r\n",
       414},
      {"target over 16 KiB",
       "GET /v2.1/" + std::string(20000, 'a') + " HTTP/1.1\r\n" + host + "\r\n",
       414},
      {"one header over 16 KiB",
       "GET / HTTP/1.1\r\n" + host + "X-Big: " + std::string(20000, 'b') +
           "\r\n\r\n",
       431},
      {"many headers over 16 KiB",
       [&] {
         std::string r = "GET / HTTP/1.1\r\n" + host;
         for (int i = 0; i < 400; ++i) {
           r +=
               "X-H" + std::to_string(i) + ": " + std::string(50, 'v') + "\r\n";
         }
         return r + "\r\n";
       }(),
       431},
  };
}

}  // namespace

TEST_CASE("malformed HTTP gets 400, 413, 414 or 431 on both listeners",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const int compute = PortOf(stack.api_url());
  const int metadata = PortOf(stack.metadata_url());
  for (const FramingCase& c : FramingCases()) {
    for (int port : {compute, metadata}) {
      INFO(c.name << (port == compute ? " (compute)" : " (metadata)"));
      auto rs = ParseResponses(Exchange(port, c.bytes, c.close_write));
      REQUIRE(rs.size() == 1);
      if (c.status == 0) {
        CHECK(rs[0].status < 500);
        CheckStillServing(port);
        continue;
      }
      CHECK(rs[0].status == c.status);
      CHECK(HasHeader(rs[0], "x-openstack-request-id"));
      if (port == compute) CheckNovaFault(rs[0], c.status);
      CheckStillServing(port);
    }
  }
}

TEST_CASE("pipelined requests are answered in order", "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const int port = PortOf(stack.api_url());
  const std::string get =
      "GET /v2.1/flavors HTTP/1.1\r\nHost: x\r\nX-Auth-Token: a:demo\r\n";
  const std::string bytes = get + "\r\n" +
                            "GET /v2.1/nope HTTP/1.1\r\nHost: x\r\n"
                            "X-Auth-Token: a:demo\r\n\r\n" +
                            "GET / HTTP/1.1\r\nHost: x\r\n"
                            "Connection: close\r\n\r\n";
  auto rs = ParseResponses(Exchange(port, bytes));
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].status == 200);
  CHECK(json::parse(rs[0].body).contains("flavors"));
  CHECK(rs[1].status == 404);
  CHECK(rs[2].status == 200);
  CHECK(json::parse(rs[2].body).contains("versions"));
  // A framing error after good requests: those answered, then the 400.
  auto mixed = ParseResponses(Exchange(port, get + "\r\n" + "BAD\r\n\r\n"));
  REQUIRE(mixed.size() == 2);
  CHECK(mixed[0].status == 200);
  CheckNovaFault(mixed[1], 400);
}

TEST_CASE("deeply nested and ill-typed bodies are 400 on every route",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const int port = PortOf(stack.api_url());
  const std::string server = stack.CreateServer();
  const std::string id = "3cdf5132-64f2-4584-876a-bd296ae7eabd";
  struct Route {
    std::string method, path, key;
  };
  const std::vector<Route> routes = {
      {"POST", "/v2.1/servers", "server"},
      {"POST", "/v2.1/servers/" + server + "/action", "reboot"},
      {"POST", "/v2.1/servers/" + id + "/shares", "share"},
      {"POST", "/v2.1/servers/" + server + "/shares", "share"},
      {"POST", "/v2.1/flavors", "flavor"},
      {"POST", "/v2.1/flavors/m1.any/os-extra_specs", "extra_specs"},
      {"PUT", "/v2.1/flavors/m1.any/os-extra_specs/k", "k"},
  };
  // About 200 KB of nesting, as the crash was found with.
  const size_t deep = 100000;
  for (const Route& r : routes) {
    const std::vector<std::pair<std::string, std::string>> bodies = {
        {"arrays under the key",
         "{\"" + r.key + "\": " + Nested(deep, "[", "]") + "}"},
        {"objects under the key",
         "{\"" + r.key + "\": " + Nested(deep, "{\"a\":", "}") + "}"},
        {"arrays at the top", Nested(deep, "[", "]")},
        {"65 levels", "{\"" + r.key + "\": " + Nested(64, "[", "]") + "}"},
        {"unclosed", "{\"" + r.key + "\": " + std::string(deep, '[')},
        {"strings inside",
         "{\"" + r.key + "\": " + Nested(deep, "[\"]\\\"[\",", "]") + "}"},
        {"not JSON", "{\"" + r.key + "\": nope}"},
        {"invalid UTF-8", "{\"" + r.key + "\": \"\xff\xfe\"}"},
        {"a number", "5"},
        {"null", "null"},
        {"empty", ""},
    };
    for (const auto& [name, body] : bodies) {
      INFO(r.method << " " << r.path << ": " << name);
      auto rs = ParseResponses(Exchange(port, Request(r.method, r.path, body)));
      REQUIRE(rs.size() == 1);
      CheckNovaFault(rs[0], 400);
    }
  }
  CheckStillServing(port);
}

TEST_CASE("wrong field types are 400 in Nova's words, never 500",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const std::string server = stack.CreateServer();
  const std::string action = "/v2.1/servers/" + server + "/action";
  struct Case {
    std::string method, path, body, token, message;
  };
  const std::string create = R"({"server": {"name": "a", "flavorRef": "1", )";
  const std::vector<Case> cases = {
      {"POST", "/v2.1/servers", create + R"("availability_zone": 5}})",
       "alice:demo",
       "Invalid input for field/attribute availability_zone. Value: 5. 5 is "
       "not of type 'string'"},
      {"POST", "/v2.1/servers", create + R"("availability_zone": null}})",
       "alice:demo",
       "Invalid input for field/attribute availability_zone. Value: None. "
       "None is not of type 'string'"},
      {"POST", "/v2.1/servers", create + R"("min_count": "x"}})", "alice:demo",
       "'x' does not match '^[0-9]*$'"},
      {"POST", "/v2.1/servers", create + R"("networks": 5}})", "alice:demo",
       "5 is not of type 'array', 'string'"},
      {"POST", "/v2.1/servers", create + R"("networks": "some"}})",
       "alice:demo", "must be 'auto', 'none' or a list"},
      {"POST", "/v2.1/servers", create + R"("metadata": {"k": 5}}})",
       "alice:demo", "5 is not of type 'string'"},
      {"POST", "/v2.1/servers",
       R"({"server": {"name": " pad", "flavorRef": 1}})", "alice:demo",
       "does not match"},
      {"POST", "/v2.1/servers",
       R"({"server": {"name": "a", "flavorRef": 1.5}})", "alice:demo",
       "1.5 is not of type 'string', 'integer'"},
      {"POST", action, R"({"reboot": {"type": 5}})", "alice:demo",
       "Invalid input for field/attribute type. Value: 5. 5 is not of type "
       "'string'"},
      {"POST", action, R"({"reboot": {"type": "hardest"}})", "alice:demo",
       "Invalid input for field/attribute type. Value: hardest. 'hardest' is "
       "not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']"},
      {"POST", action, R"({"reboot": {"type": null}})", "alice:demo",
       "Invalid input for field/attribute type. Value: None."},
      {"POST", action, R"({"reboot": null})", "alice:demo",
       "None is not of type 'object'"},
      {"POST", action, R"({"reboot": {"type": "HARD", "x": 1}})", "alice:demo",
       "Additional properties are not allowed ('x' was unexpected)"},
      {"POST", action, R"({"os-start": 5})", "alice:demo",
       "5 is not of type 'object', 'null'"},
      {"POST", action, R"({})", "alice:demo",
       "{} does not have enough properties"},
      {"POST", action, R"({"os-start": null, "os-stop": null})", "alice:demo",
       "has too many properties"},
      {"POST", "/v2.1/flavors",
       R"({"flavor": {"name": "f", "id": 5.5, "ram": 1, "vcpus": 1, "disk": 0}})",
       "admin:admin",
       "Invalid input for field/attribute id. Value: 5.5. 5.5 is not of type "
       "'string', 'null'"},
      {"POST", "/v2.1/flavors",
       R"({"flavor": {"name": "f", "ram": "lots", "vcpus": 1, "disk": 0}})",
       "admin:admin", "'lots' does not match '^[0-9]*$'"},
      {"POST", "/v2.1/flavors",
       R"({"flavor": {"name": "f", "ram": 99999999999, "vcpus": 1, "disk": 0}})",
       "admin:admin", "is greater than the maximum of 2147483647"},
      {"POST", "/v2.1/flavors",
       R"({"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 0, "swap": []}})",
       "admin:admin", "[] is not of type 'integer', 'string'"},
      {"POST", "/v2.1/flavors",
       R"({"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 0,
           "os-flavor-access:is_public": "maybe"}})",
       "admin:admin", "'maybe' is not one of"},
      {"POST", "/v2.1/flavors/m1.a/os-extra_specs",
       R"({"extra_specs": {")" + std::string(1000, 'k') + R"(": "v"}})",
       "admin:admin", "Additional properties are not allowed ('kkk"},
      {"POST", "/v2.1/flavors/m1.a/os-extra_specs",
       R"({"extra_specs": {"k": {"nested": 1}}})", "admin:admin",
       "is not of type 'string', 'number', 'boolean'"},
      {"POST", "/v2.1/flavors/m1.a/os-extra_specs",
       R"({"extra_specs": {"k": ")" + std::string(256, 'v') + R"("}})",
       "admin:admin", "is too long"},
      {"PUT", "/v2.1/flavors/m1.a/os-extra_specs/k", R"({"k": "1", "j": "2"})",
       "admin:admin", "has too many properties"},
      {"POST", "/v2.1/servers/" + server + "/shares",
       R"({"share": {"share_id": ["x"]}})", "alice:demo",
       "['x'] is not a 'uuid'"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path << " " << c.body);
    HttpResponse r = stack.Api(c.method, c.path, c.body, c.token);
    INFO(r.body);
    REQUIRE(r.status == 400);
    CHECK(!r.Header("x-openstack-request-id").empty());
    json body = json::parse(r.body);
    CHECK(body["badRequest"]["code"] == 400);
    CHECK(body["badRequest"]["message"].get<std::string>().find(c.message) !=
          std::string::npos);
  }
  // The valid forms still work: strings for sizes, booleans as strings.
  HttpResponse ok = stack.Api(
      "POST", "/v2.1/flavors",
      R"({"flavor": {"name": "fs", "id": "fs", "ram": "512", "vcpus": "2",
          "disk": "0", "swap": "", "os-flavor-access:is_public": "True"}})",
      "admin:admin");
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  json flavor = json::parse(ok.body)["flavor"];
  CHECK(flavor["ram"] == 512);
  CHECK(flavor["vcpus"] == 2);
  CHECK(flavor["os-flavor-access:is_public"] == true);
}

TEST_CASE("microversion headers are read as Nova reads them",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const int port = PortOf(stack.api_url());
  struct Case {
    std::string headers;  // raw header lines
    int status;
    std::string version;  // answered OpenStack-API-Version, when 200
  };
  const std::vector<Case> cases = {
      {"OpenStack-API-Version: compute 2.97\r\n", 200, "compute 2.97"},
      {"OpenStack-API-Version: COMPUTE 2.97\r\n", 200, "compute 2.97"},
      {"OpenStack-API-Version: Compute\t2.60\r\n", 200, "compute 2.60"},
      // No version for compute: as if no header (microversion_parse).
      {"OpenStack-API-Version: compute\r\n", 200, "compute 2.1"},
      {"OpenStack-API-Version: volume 3.0\r\n", 200, "compute 2.1"},
      // The last compute item wins, as microversion_parse reads it.
      {"OpenStack-API-Version: compute 2.97, compute 2.10\r\n", 200,
       "compute 2.10"},
      {"OpenStack-API-Version: compute 2.10, compute 2.97\r\n", 200,
       "compute 2.97"},
      // Repeated headers fold into one list.
      {"OpenStack-API-Version: compute 2.50\r\n"
       "OpenStack-API-Version: volume 3.1\r\n",
       200, "compute 2.50"},
      // The legacy header only when the standard one names no compute.
      {"OpenStack-API-Version: compute\r\n"
       "X-OpenStack-Nova-API-Version: 2.40\r\n",
       200, "compute 2.40"},
      {"X-OpenStack-Nova-API-Version: 2.30, 2.31\r\n", 200, "compute 2.31"},
      {"OpenStack-API-Version: compute latest\r\n", 200, "compute 2.97"},
      {"OpenStack-API-Version: compute LATEST\r\n", 400, ""},
      {"OpenStack-API-Version: compute 2.97\xa0\r\n", 400, ""},
      {"X-OpenStack-Nova-API-Version: 2.97\xa0\r\n", 400, ""},
      {"OpenStack-API-Version: compute 02.97\r\n", 400, ""},
      {"OpenStack-API-Version: compute 2.097\r\n", 400, ""},
      {"OpenStack-API-Version: compute 2.97.1\r\n", 400, ""},
      // Well formed, beyond any range (Nova: 406).
      {"OpenStack-API-Version: compute 2.99999999999\r\n", 406, ""},
      // An empty legacy value is an empty version string (Nova: 400).
      {"X-OpenStack-Nova-API-Version: 2.5,\r\n", 400, ""},
      {"OpenStack-API-Version: compute 2.98\r\n", 406, ""},
      {"OpenStack-API-Version: compute 3.0\r\n", 406, ""},
  };
  for (const Case& c : cases) {
    INFO(c.headers);
    auto rs = ParseResponses(Exchange(
        port,
        "GET /v2.1/flavors HTTP/1.1\r\nHost: x\r\nX-Auth-Token: a:demo\r\n"
        "Connection: close\r\n" +
            c.headers + "\r\n"));
    REQUIRE(rs.size() == 1);
    if (c.status != 200) {
      CheckNovaFault(rs[0], c.status);
      continue;
    }
    CHECK(rs[0].status == 200);
    CHECK(rs[0].head.find("OpenStack-API-Version: " + c.version + "\r\n") !=
          std::string::npos);
  }
  CheckStillServing(port);
}

TEST_CASE("the metadata API answers 404 for ids that are not instances",
          "[integration][e2e]") {
  Stack stack;
  stack.StartApi();
  const int port = PortOf(stack.metadata_url());
  for (const std::string& id :
       {std::string("not-a-uuid"), std::string(10 * 1024, 'x'),
        std::string("3cdf5132-64f2-4584-876a-bd296ae7eab"),
        std::string("'; DROP TABLE servers; --")}) {
    INFO(id.substr(0, 40));
    const std::string sig =
        shareplane::MetadataSignature("test-metadata-secret", id);
    auto rs = ParseResponses(
        Exchange(port,
                 "GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: x\r\n"
                 "X-Instance-ID: " +
                     id + "\r\nX-Instance-ID-Signature: " + sig +
                     "\r\nConnection: close\r\n\r\n"));
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 404);
  }
  CheckStillServing(port);
}
