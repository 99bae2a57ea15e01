// The daemons reach PostgreSQL (sslmode=verify-full) and RabbitMQ
// (amqps://) over TLS whose certificates they verify: the fixture's servers
// also listen with TLS (tests/support/services).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/amqp/amqp_bus.h"
#include "tests/support/pki.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

std::string WithTls(const std::string& pg_url, const std::string& ca) {
  return absl::StrCat(pg_url, "?sslmode=verify-full&sslrootcert=", ca);
}

}  // namespace

TEST_CASE("the daemons use PostgreSQL and RabbitMQ over verified TLS",
          "[integration][e2e]") {
  const TestServices& ts = TestServices::Get();
  REQUIRE_FALSE(ts.tls_ca.empty());
  REQUIRE_FALSE(ts.amqps_url.empty());

  SECTION("a CA that did not sign the server's certificate is refused") {
    // TestPki's CA signs the agent plane, not the fixture's servers.
    const std::string wrong = TestPki::Get().ca_file();
    AmqpOptions amqps;
    amqps.url = ts.amqps_url;
    amqps.ca_file = wrong;
    CHECK_FALSE(ProbeAmqp(amqps).ok());
    amqps.ca_file = ts.tls_ca;
    CHECK(ProbeAmqp(amqps).ok());
    // The right CA, but reached by a name the check does not find in the
    // certificate (rabbitmq-c compares DNS names only, not IP addresses).
    AmqpOptions misnamed = amqps;
    misnamed.url =
        absl::StrReplaceAll(ts.amqps_url, {{"localhost", "127.0.0.1"}});
    CHECK_FALSE(ProbeAmqp(misnamed).ok());

    Database bad({WithTls(ts.pg_url, wrong), 1, std::chrono::seconds(2)});
    CHECK(bad.Read([](pqxx::transaction_base&) { return absl::OkStatus(); })
              .code() == absl::StatusCode::kUnavailable);
    Database good({WithTls(ts.pg_url, ts.tls_ca), 1, std::chrono::seconds(5)});
    bool ssl = false;
    REQUIRE(good.Read([&](pqxx::transaction_base& w) {
                  ssl = w.exec1(
                             "SELECT ssl FROM pg_stat_ssl WHERE pid = "
                             "pg_backend_pid()")[0]
                            .as<bool>();
                  return absl::OkStatus();
                })
                .ok());
    CHECK(ssl);
  }

  SECTION("an attach runs through the database and the broker over TLS") {
    Stack stack;
    stack.SetExtraConfig(absl::StrCat(
        "[DEFAULT]\ntransport_url = ", ts.amqps_url,
        "\n[oslo_messaging_rabbit]\nssl_ca_file = ", ts.tls_ca,
        "\n[database]\nconnection = ", WithTls(stack.database_url(), ts.tls_ca),
        "\n"));
    stack.StartEmulator();
    stack.StartConductor();
    stack.StartCompute();
    stack.StartApi();
    CHECK(absl::StrContains(stack.ConductorLog(), "Consuming"));
    CHECK(absl::StrContains(stack.ConductorLog(), "amqps://guest:***@"));
    const std::string server = stack.CreateServer();
    const std::string share = stack.CreateShare();
    stack.AttachShare(server, share);  // API -> outbox -> broker -> conductor
    // The daemons' connections to their database are TLS (the test's own
    // pool is not).
    int tls = -1;
    const std::string db =
        stack.database_url().substr(stack.database_url().rfind('/') + 1);
    REQUIRE(stack.db()
                .Read([&](pqxx::transaction_base& w) {
                  auto r = w.exec_params1(
                      "SELECT count(*) FROM pg_stat_activity a JOIN "
                      "pg_stat_ssl s USING (pid) WHERE a.datname = $1 AND "
                      "s.ssl",
                      db);
                  tls = r[0].as<int>();
                  return absl::OkStatus();
                })
                .ok());
    CHECK(tls >= 2);  // the API's and the conductor's pools at least
  }
}
