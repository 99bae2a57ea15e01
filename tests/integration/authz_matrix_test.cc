// The authorization matrix: every REST and gRPC route of the compute API,
// the metadata API's signature rules and the agent plane's identity rules,
// against each kind of caller, with the real Keystone. The test holds what
// each cell must answer, checks every cell, and renders the table into
// docs/security.md: it fails when the file differs (SHAREPLANE_UPDATE_DOCS=1
// writes it), so the published table is the tested one.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api-service/metadata_api.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "shareplane/api/v1/compute.grpc.pb.h"
#include "tests/support/pki.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

namespace apipb = shareplane::api::v1;

// The callers, in the table's column order.
const std::vector<std::string> kCallers = {
    "admin",         "member",       "reader",
    "other project", "no token",     "expired token",
    "revoked token", "forged token", "service token alone"};

struct Caller {
  std::string name;
  Headers headers;  // X-Auth-Token / X-Service-Token
};

// What a route needs for one caller: a target made fresh for the callers
// that may change it, shared by those refused.
struct Target {
  std::string server, share, request_id;
};

struct Cell {
  std::string route;
  std::string caller;
  std::string expected;
  std::string got;
};

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Matrix {
 public:
  Matrix()
      : stack_("[api]\nauth_strategy = keystone\n" +
               KeystoneServiceConfig("keystone_authtoken") +
               KeystoneServiceConfig("manila")) {
    stack_.StartEmulator(30, {"--keystone_url=" + Ks().keystone_url});
    stack_.StartConductor();
    stack_.StartCompute();
    stack_.StartApi();
    admin_ = KeystoneToken("admin", "admin");
    alice_ = KeystoneToken("alice", "demo");
    const std::string revoked = KeystoneToken("alice", "demo");
    Http("DELETE", Ks().keystone_url + "/auth/tokens",
         {{"X-Auth-Token", admin_}, {"X-Subject-Token", revoked}});
    callers_ = {
        {"admin", {{"X-Auth-Token", admin_}}},
        {"member", {{"X-Auth-Token", alice_}}},
        {"reader", {{"X-Auth-Token", KeystoneToken("bob", "demo")}}},
        {"other project", {{"X-Auth-Token", KeystoneToken("eve", "other")}}},
        {"no token", {}},
        {"expired token",
         {{"X-Auth-Token", ExpiredKeystoneToken("alice", "demo")}}},
        {"revoked token", {{"X-Auth-Token", revoked}}},
        {"forged token", {{"X-Auth-Token", "gAAAAABforgedforgedforgedforged"}}},
        {"service token alone",
         {{"X-Service-Token", KeystoneToken("nova", "service")}}},
    };
    // The demo project's fixtures, touched only by refused callers.
    shared_ = Fresh("stopped", /*attached=*/true);
  }

  Stack& stack() { return stack_; }
  const std::vector<Caller>& callers() const { return callers_; }
  const std::string& demo() const { return Ks().demo_project_id; }

  // A demo server in `state`, with a share attached (by the member, so the
  // server has an action) when `attached`.
  Target Fresh(const std::string& state, bool attached) {
    Target t;
    t.server = stack_.CreateServer("hv1", "stopped", demo());
    t.share = NewShare();
    if (attached) {
      HttpResponse r = Rest("POST", "/v2.1/servers/" + t.server + "/shares",
                            {{"X-Auth-Token", alice_}},
                            json{{"share", {{"share_id", t.share}}}}.dump());
      if (r.status != 201) throw std::runtime_error("attach: " + r.body);
      t.request_id = r.Header("X-Openstack-Request-Id");
      if (!WaitUntil([&] {
            HttpResponse s =
                Rest("GET", "/v2.1/servers/" + t.server + "/shares/" + t.share,
                     {{"X-Auth-Token", alice_}});
            return s.status == 200 &&
                   json::parse(s.body)["share"]["status"] == "inactive";
          })) {
        throw std::runtime_error("attach did not end inactive");
      }
    }
    if (state != "stopped") {
      (void)stack_.db().Transact([&](pqxx::work& w) {
        w.exec_params(
            "UPDATE servers SET vm_state = $2, power_state = 1 WHERE uuid = $1",
            t.server, state);
        return absl::OkStatus();
      });
    }
    return t;
  }

  std::string NewShare() {
    HttpResponse r = Http(
        "POST", stack_.manila_url() + "/shares", {{"X-Auth-Token", admin_}},
        json{{"share", {{"share_proto", "NFS"}, {"project_id", demo()}}}}
            .dump());
    if (r.status != 200) throw std::runtime_error("share: " + r.body);
    return json::parse(r.body)["share"]["id"];
  }

  HttpResponse Rest(const std::string& method, const std::string& path,
                    Headers headers, const std::string& body = "") {
    headers.emplace_back("OpenStack-API-Version", "compute 2.97");
    return Http(method, stack_.api_url() + path, headers, body);
  }

  // Runs `call` for each caller; callers listed in `changes` get a fresh
  // target of `state` (attached when `attached`), the others the shared one.
  void Row(const std::string& route, const std::vector<std::string>& expected,
           const std::function<std::string(const Caller&, const Target&)>& call,
           const std::string& state = "", bool attached = false) {
    REQUIRE(expected.size() == callers_.size());
    for (size_t i = 0; i < callers_.size(); ++i) {
      const bool may_change =
          !state.empty() && (expected[i][0] == '2' || expected[i] == "OK");
      const Target t = may_change ? Fresh(state, attached) : shared_;
      cells_.push_back(
          {route, callers_[i].name, expected[i], call(callers_[i], t)});
    }
  }
  void Fixed(const std::string& route, const std::string& caller,
             const std::string& expected, const std::string& got) {
    cells_.push_back({route, caller, expected, got});
  }

  const std::vector<Cell>& cells() const { return cells_; }

 private:
  static const TestServices& Ks() { return TestServices::Get(); }

  Stack stack_;
  std::string admin_, alice_;
  std::vector<Caller> callers_;
  Target shared_;
  std::vector<Cell> cells_;
};

std::string Code(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    default:
      return absl::StrCat("code ", static_cast<int>(c));
  }
}

// The table of one section: a row per route, a column per caller.
std::string Table(const std::vector<Cell>& cells, const std::string& prefix) {
  std::vector<std::string> routes;
  std::map<std::pair<std::string, std::string>, std::string> at;
  for (const Cell& c : cells) {
    if (c.route.rfind(prefix, 0) != 0) continue;
    if (std::find(routes.begin(), routes.end(), c.route) == routes.end()) {
      routes.push_back(c.route);
    }
    at[{c.route, c.caller}] = c.got;
  }
  std::string out = "| Route | " + absl::StrJoin(kCallers, " | ") + " |\n|---|";
  for (size_t i = 0; i < kCallers.size(); ++i) out += "---|";
  out += "\n";
  for (const std::string& r : routes) {
    out += "| `" + r.substr(prefix.size()) + "` |";
    for (const std::string& c : kCallers) {
      auto it = at.find({r, c});
      out += " " + (it == at.end() ? std::string("") : it->second) + " |";
    }
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("the authorization matrix holds for every route and caller",
          "[integration][keystone]") {
  Matrix m;
  const std::string create =
      R"({"server": {"name": "m", "flavorRef": "m1.test", "networks": "none"}})";
  auto rest = [&](const std::string& method, std::string path_template,
                  std::string body = "") {
    return [&m, method, path_template, body](const Caller& c, const Target& t) {
      std::string path = path_template;
      auto put = [&](const std::string& key, const std::string& value) {
        for (size_t at; (at = path.find(key)) != std::string::npos;) {
          path.replace(at, key.size(), value);
        }
      };
      put("{server}", t.server);
      put("{share}", t.share);
      put("{request}", t.request_id);
      std::string b = body;
      for (size_t at; (at = b.find("{share}")) != std::string::npos;) {
        b.replace(at, 7, m.NewShare());
      }
      return std::to_string(m.Rest(method, path, c.headers, b).status);
    };
  };
  const std::vector<std::string> k401(5, "401");
  auto row = [&](std::vector<std::string> authenticated) {
    authenticated.insert(authenticated.end(), k401.begin(), k401.end());
    return authenticated;
  };
  const auto read = row({"200", "200", "200", "404"});
  const auto any = row({"200", "200", "200", "200"});
  const auto admin_only = row({"200", "403", "403", "403"});

  m.Row("REST GET /v2.1/servers", any, rest("GET", "/v2.1/servers"));
  m.Row("REST GET /v2.1/servers/detail", any,
        rest("GET", "/v2.1/servers/detail"));
  m.Row("REST POST /v2.1/servers", row({"202", "202", "403", "202"}),
        rest("POST", "/v2.1/servers", create));
  m.Row("REST GET /v2.1/servers/{id}", read,
        rest("GET", "/v2.1/servers/{server}"));
  m.Row("REST DELETE /v2.1/servers/{id}", row({"204", "204", "403", "404"}),
        rest("DELETE", "/v2.1/servers/{server}"), "stopped");
  m.Row("REST POST /v2.1/servers/{id}/action os-start",
        row({"202", "202", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action", R"({"os-start": null})"),
        "stopped");
  m.Row("REST POST /v2.1/servers/{id}/action os-stop",
        row({"202", "202", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action", R"({"os-stop": null})"),
        "active");
  m.Row("REST POST /v2.1/servers/{id}/action reboot",
        row({"202", "202", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action",
             R"({"reboot": {"type": "SOFT"}})"),
        "active");
  m.Row("REST GET /v2.1/servers/{id}/os-instance-actions", read,
        rest("GET", "/v2.1/servers/{server}/os-instance-actions"));
  m.Row("REST GET /v2.1/servers/{id}/os-instance-actions/{req}", read,
        rest("GET", "/v2.1/servers/{server}/os-instance-actions/{request}"));
  m.Row("REST GET /v2.1/servers/{id}/shares", read,
        rest("GET", "/v2.1/servers/{server}/shares"));
  m.Row("REST POST /v2.1/servers/{id}/shares",
        row({"201", "201", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/shares",
             R"({"share": {"share_id": "{share}"}})"),
        "stopped");
  m.Row("REST GET /v2.1/servers/{id}/shares/{share}", read,
        rest("GET", "/v2.1/servers/{server}/shares/{share}"));
  m.Row("REST DELETE /v2.1/servers/{id}/shares/{share}",
        row({"200", "200", "403", "404"}),
        rest("DELETE", "/v2.1/servers/{server}/shares/{share}"), "stopped",
        /*attached=*/true);
  m.Row("REST GET /v2.1/flavors", any, rest("GET", "/v2.1/flavors"));
  m.Row("REST GET /v2.1/flavors/detail", any,
        rest("GET", "/v2.1/flavors/detail"));
  m.Row("REST GET /v2.1/flavors/{id}", any,
        rest("GET", "/v2.1/flavors/m1.test"));
  m.Row(
      "REST POST /v2.1/flavors", admin_only,
      rest(
          "POST", "/v2.1/flavors",
          R"({"flavor": {"name": "{share}", "ram": 64, "vcpus": 1, "disk": 0}})"));
  m.Row("REST GET /v2.1/flavors/{id}/os-extra_specs", any,
        rest("GET", "/v2.1/flavors/m1.test/os-extra_specs"));
  m.Row("REST POST /v2.1/flavors/{id}/os-extra_specs", admin_only,
        rest("POST", "/v2.1/flavors/m1.test/os-extra_specs",
             R"({"extra_specs": {"hw:numa_nodes": "1"}})"));
  // The moves: refused by their checks (no second host, no such flavor,
  // not resized, host up) once the policy let the caller through.
  m.Row("REST POST /v2.1/servers/{id}/action migrate",
        row({"400", "403", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action", R"({"migrate": null})"));
  m.Row("REST POST /v2.1/servers/{id}/action resize",
        row({"400", "400", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action",
             R"({"resize": {"flavorRef": "m9.none"}})"));
  m.Row("REST POST /v2.1/servers/{id}/action confirmResize",
        row({"409", "409", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action",
             R"({"confirmResize": null})"));
  m.Row("REST POST /v2.1/servers/{id}/action revertResize",
        row({"409", "409", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action",
             R"({"revertResize": null})"));
  m.Row("REST POST /v2.1/servers/{id}/action evacuate",
        row({"400", "403", "403", "404"}),
        rest("POST", "/v2.1/servers/{server}/action", R"({"evacuate": {}})"));
  m.Row("REST GET /v2.1/os-migrations", admin_only,
        rest("GET", "/v2.1/os-migrations"));
  m.Row("REST PUT /v2.1/os-services/{id}", admin_only,
        rest("PUT", "/v2.1/os-services/1", R"({"status": "enabled"})"));
  m.Row("REST GET /v2.1/os-services", admin_only,
        rest("GET", "/v2.1/os-services"));
  m.Row("REST GET /v2.1/os-hypervisors/detail", admin_only,
        rest("GET", "/v2.1/os-hypervisors/detail"));

  // The gRPC API: the same policy, the callers' tokens as metadata.
  auto stub = apipb::Compute::NewStub(grpc::CreateChannel(
      m.stack().grpc_endpoint(), grpc::InsecureChannelCredentials()));
  auto ctx = [](const Caller& c) {
    auto x = std::make_unique<grpc::ClientContext>();
    for (const auto& [k, v] : c.headers) {
      std::string key = k;
      std::transform(key.begin(), key.end(), key.begin(), ::tolower);
      x->AddMetadata(key, v);
    }
    x->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
    return x;
  };
  std::vector<std::string> u5(5, "UNAUTHENTICATED");
  auto grow = [&](std::vector<std::string> authenticated) {
    authenticated.insert(authenticated.end(), u5.begin(), u5.end());
    return authenticated;
  };
  const auto gread = grow({"OK", "OK", "OK", "NOT_FOUND"});
  const auto gchange = grow({"OK", "OK", "PERMISSION_DENIED", "NOT_FOUND"});
  m.Row("gRPC ListServers", grow({"OK", "OK", "OK", "OK"}),
        [&](const Caller& c, const Target&) {
          apipb::ListServersResponse out;
          return Code(stub->ListServers(ctx(c).get(), {}, &out).error_code());
        });
  m.Row("gRPC GetServer", gread, [&](const Caller& c, const Target& t) {
    apipb::GetServerRequest req;
    req.set_server_id(t.server);
    apipb::Server out;
    return Code(stub->GetServer(ctx(c).get(), req, &out).error_code());
  });
  m.Row("gRPC CreateServer", grow({"OK", "OK", "PERMISSION_DENIED", "OK"}),
        [&](const Caller& c, const Target&) {
          apipb::CreateServerRequest req;
          req.set_name("g");
          req.set_flavor_ref("m1.test");
          apipb::CreateServerResponse out;
          return Code(stub->CreateServer(ctx(c).get(), req, &out).error_code());
        });
  m.Row(
      "gRPC DeleteServer", gchange,
      [&](const Caller& c, const Target& t) {
        apipb::DeleteServerRequest req;
        req.set_server_id(t.server);
        apipb::Empty out;
        return Code(stub->DeleteServer(ctx(c).get(), req, &out).error_code());
      },
      "stopped");
  m.Row(
      "gRPC StartServer", gchange,
      [&](const Caller& c, const Target& t) {
        apipb::ServerActionRequest req;
        req.set_server_id(t.server);
        apipb::Empty out;
        return Code(stub->StartServer(ctx(c).get(), req, &out).error_code());
      },
      "stopped");
  m.Row(
      "gRPC StopServer", gchange,
      [&](const Caller& c, const Target& t) {
        apipb::ServerActionRequest req;
        req.set_server_id(t.server);
        apipb::Empty out;
        return Code(stub->StopServer(ctx(c).get(), req, &out).error_code());
      },
      "active");
  m.Row(
      "gRPC RebootServer", gchange,
      [&](const Caller& c, const Target& t) {
        apipb::RebootServerRequest req;
        req.set_server_id(t.server);
        apipb::Empty out;
        return Code(stub->RebootServer(ctx(c).get(), req, &out).error_code());
      },
      "active");
  m.Row("gRPC ListServerShares", gread, [&](const Caller& c, const Target& t) {
    apipb::ListServerSharesRequest req;
    req.set_server_id(t.server);
    apipb::ListServerSharesResponse out;
    return Code(stub->ListServerShares(ctx(c).get(), req, &out).error_code());
  });
  m.Row(
      "gRPC AttachShare", gchange,
      [&](const Caller& c, const Target& t) {
        apipb::AttachShareRequest req;
        req.set_server_id(t.server);
        req.set_share_id(m.NewShare());
        apipb::ShareAttachment out;
        return Code(stub->AttachShare(ctx(c).get(), req, &out).error_code());
      },
      "stopped");
  m.Row("gRPC GetServerShare", gread, [&](const Caller& c, const Target& t) {
    apipb::GetServerShareRequest req;
    req.set_server_id(t.server);
    req.set_share_id(t.share);
    apipb::ShareAttachment out;
    return Code(stub->GetServerShare(ctx(c).get(), req, &out).error_code());
  });
  m.Row(
      "gRPC DetachShare", gchange,
      [&](const Caller& c, const Target& t) {
        apipb::DetachShareRequest req;
        req.set_server_id(t.server);
        req.set_share_id(t.share);
        apipb::DetachShareResponse out;
        return Code(stub->DetachShare(ctx(c).get(), req, &out).error_code());
      },
      "stopped", /*attached=*/true);

  // The metadata API: a guest proves which server it is by Neutron's
  // signature of its id; there are no tokens.
  const std::string server = m.Fresh("stopped", false).server;
  const std::string other = m.Fresh("stopped", false).server;
  auto meta = [&](const std::string& id, const std::string& signature,
                  const std::string& tenant) {
    Headers h;
    if (!id.empty()) h.emplace_back("X-Instance-ID", id);
    if (!signature.empty())
      h.emplace_back("X-Instance-ID-Signature", signature);
    if (!tenant.empty()) h.emplace_back("X-Tenant-ID", tenant);
    return std::to_string(
        Http("GET",
             m.stack().metadata_url() + "/openstack/latest/meta_data.json", h)
            .status);
  };
  const std::string secret = "test-metadata-secret";
  const std::string route = "metadata GET /openstack/latest/meta_data.json";
  m.Fixed(route, "signed by the shared secret", "200",
          meta(server, MetadataSignature(secret, server), m.demo()));
  m.Fixed(route, "unsigned", "403", meta(server, "", m.demo()));
  m.Fixed(route, "no instance id", "403", meta("", "", ""));
  m.Fixed(route, "signed with another secret", "403",
          meta(server, MetadataSignature("wrong-secret", server), m.demo()));
  m.Fixed(route, "another server's signature", "403",
          meta(server, MetadataSignature(secret, other), m.demo()));
  m.Fixed(route, "another project", "403",
          meta(server, MetadataSignature(secret, server), "other-project"));

  // The agent plane: names in certificates, never tokens.
  auto channel = [](const std::string& endpoint, const std::string& client,
                    const std::string& server) {
    return TestPki::Get().Channel(endpoint, client, server);
  };
  auto deadline = [] {
    auto x = std::make_unique<grpc::ClientContext>();
    x->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    return x;
  };
  auto facts = [&](std::shared_ptr<grpc::Channel> ch) {
    agent::v1::HostFacts out;
    return Code(agent::v1::ComputeAgent::NewStub(ch)
                    ->GetHostFacts(deadline().get(), {}, &out)
                    .error_code());
  };
  auto reg = [&](const std::string& client) {
    agent::v1::RegisterRequest req;
    req.mutable_facts()->set_hostname("hv1");
    req.mutable_facts()->set_storage_ip("192.0.2.10");
    req.mutable_facts()->set_agent_endpoint(m.stack().compute_endpoint());
    agent::v1::RegisterReply out;
    return Code(
        agent::v1::AgentRegistry::NewStub(
            channel(m.stack().conductor_endpoint(), client, kConductorName))
            ->Register(deadline().get(), req, &out)
            .error_code());
  };
  const std::string agent = m.stack().compute_endpoint();
  const std::string a = "agent plane hv1's agent (every RPC)";
  m.Fixed(a, "conductor's certificate", "OK",
          facts(channel(agent, kConductorName, "hv1")));
  m.Fixed(a, "hv2's certificate", "UNAUTHENTICATED",
          facts(channel(agent, "hv2", "hv1")));
  m.Fixed(a, "no client certificate", "UNAVAILABLE",
          facts(channel(agent, "", "hv1")));
  m.Fixed(
      a, "plaintext", "UNAVAILABLE",
      facts(grpc::CreateChannel(agent, grpc::InsecureChannelCredentials())));
  const std::string r = "agent plane conductor Register as hv1";
  m.Fixed(r, "hv1's certificate", "OK", reg("hv1"));
  m.Fixed(r, "hv2's certificate", "PERMISSION_DENIED", reg("hv2"));
  m.Fixed(r, "conductor's certificate", "PERMISSION_DENIED",
          reg(kConductorName));
  m.Fixed(r, "no client certificate", "UNAVAILABLE", reg(""));

  for (const Cell& c : m.cells()) {
    INFO(c.route << " as " << c.caller);
    CHECK(c.got == c.expected);
  }

  // The published table.
  auto list = [&](const std::string& prefix) {
    std::string out;
    std::string last;
    for (const Cell& c : m.cells()) {
      if (c.route.rfind(prefix, 0) != 0) continue;
      if (c.route != last) {
        out += "\n" + c.route.substr(prefix.size()) + ":\n\n";
        last = c.route;
      }
      out += "- " + c.caller + ": " + c.got + "\n";
    }
    return out;
  };
  const std::string doc = absl::StrCat(
      "# Security: who may do what\n\n"
      "Generated by `tests/integration/authz_matrix_test.cc` (\"the "
      "authorization matrix holds for every route and caller\"), which "
      "checks every cell below against the real Keystone and fails when this "
      "file differs from what it saw (`SHAREPLANE_UPDATE_DOCS=1` rewrites "
      "it). Do not edit by hand.\n\n"
      "Callers: *admin* (admin role in project admin), *member* and *reader* "
      "of the server's project, *other project* (a member elsewhere), no "
      "`X-Auth-Token`, a token that expired, one that was revoked, a forged "
      "one, and a valid service token (`X-Service-Token`) with no user "
      "token. Rules are Nova's defaults (`[oslo_policy] policy_file` "
      "overrides them). Another project's server is 404, as Nova hides "
      "it; a list answers 200 with the caller's own servers.\n\n"
      "## Compute API (REST, microversion 2.97)\n\n",
      Table(m.cells(), "REST "),
      "\n## Compute API (gRPC, `shareplane.api.v1.Compute`)\n\n",
      Table(m.cells(), "gRPC "),
      "\n## Metadata API\n\nA request is the guest's when Neutron's metadata "
      "proxy signed its `X-Instance-ID` with "
      "`[api] metadata_proxy_shared_secret` (HMAC-SHA256) and its "
      "`X-Tenant-ID` is the server's project.\n",
      list("metadata "),
      "\n## Agent plane (mutual TLS)\n\nCertificates of one CA "
      "(`shareplane-manage ca`); the names checked are their "
      "subjectAltNames.\n",
      list("agent plane "));
  const std::string path = SourcePath("docs/security.md");
  if (const char* update = std::getenv("SHAREPLANE_UPDATE_DOCS");
      update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << doc;
  }
  INFO(
      "docs/security.md differs from the matrix: run this test with "
      "SHAREPLANE_UPDATE_DOCS=1 and commit the file");
  CHECK(Read(path) == doc);
}
