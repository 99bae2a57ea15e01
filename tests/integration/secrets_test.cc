// Secrets stay where they belong: a CephFS key reaches the agent and its
// 0600 secret file, never a log, an argv, an environment, a metric or an
// API body; a caller's token is gone from what is kept after its task ran.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/amqp/amqp_bus.h"
#include "common/core/ids.h"
#include "common/pg/store.h"
#include "shareplane/task/v1/task.pb.h"
#include "tests/support/stack.h"

using namespace shareplane;
using namespace shareplane::testing;
using json = nlohmann::json;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a CephFS key is in no log, argv, environment, metric or API body",
          "[integration][e2e]") {
  Stack stack("[manila]\ncephx_id = shareplane\n");
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartCompute();
  stack.StartApi();
  const std::string share = stack.CreateShare("CEPHFS");
  const std::string server = stack.CreateServer("hv1");
  const std::string base = "/v2.1/servers/" + server;
  stack.AttachShare(server, share);
  REQUIRE(stack.Api("POST", base + "/action", R"({"os-start": null})").status ==
          202);
  REQUIRE(
      WaitUntil([&] { return stack.ShareStatus(server, share) == "active"; }));
  const json rules = stack.ManilaRules(share);
  REQUIRE(rules.size() == 1);
  const std::string key = rules[0]["access_key"];
  REQUIRE(key.size() >= 16);

  // The key is where the mount reads it: a file only root reads.
  bool secret_file = false;
  for (const std::string& p : stack.MountPoints()) {
    if (!absl::EndsWith(p, ".secret")) continue;
    struct stat st {};
    REQUIRE(stat(p.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(absl::StrContains(Slurp(p), key));
    secret_file = true;
  }
  CHECK(secret_file);

  // Nowhere else.
  CHECK_FALSE(absl::StrContains(stack.Logs(), key));
  const std::vector<pid_t> pids = stack.Pids();
  REQUIRE(pids.size() == 4);
  for (pid_t pid : pids) {
    INFO("pid " << pid);
    CHECK_FALSE(
        absl::StrContains(Slurp(absl::StrCat("/proc/", pid, "/cmdline")), key));
    CHECK_FALSE(
        absl::StrContains(Slurp(absl::StrCat("/proc/", pid, "/environ")), key));
  }
  for (const std::string& url :
       {stack.api_url() + "/metrics", stack.conductor_ops_url() + "/metrics",
        stack.compute_ops_url() + "/metrics"}) {
    HttpResponse r = Http("GET", url);
    REQUIRE(r.status == 200);
    CHECK_FALSE(absl::StrContains(r.body, key));
  }
  for (const std::string& path :
       {base, base + "/shares", base + "/shares/" + share,
        base + "/os-instance-actions", std::string("/v2.1/servers/detail")}) {
    HttpResponse r = stack.Api("GET", path);
    INFO(path);
    REQUIRE(r.status == 200);
    CHECK_FALSE(absl::StrContains(r.body, key));
  }
  // Nor in the database's kept rows (outbox bodies, actions, events).
  (void)stack.db().Transact([&](pqxx::work& w) {
    for (const char* q :
         {"SELECT coalesce(string_agg(encode(payload, 'escape'), ''), '') "
          "FROM outbox",
          "SELECT coalesce(string_agg(coalesce(details, ''), ''), '') "
          "FROM instance_action_events",
          "SELECT coalesce(string_agg(coalesce(message, ''), ''), '') "
          "FROM instance_actions",
          "SELECT coalesce(string_agg(row_to_json(m)::text, ''), '') "
          "FROM share_mappings m"}) {
      INFO(q);
      CHECK_FALSE(absl::StrContains(w.exec1(q)[0].as<std::string>(), key));
    }
    return absl::OkStatus();
  });

  // Stopped, the secret file is gone with the mount.
  REQUIRE(stack.Api("POST", base + "/action", R"({"os-stop": null})").status ==
          202);
  REQUIRE(WaitUntil(
      [&] { return stack.ShareStatus(server, share) == "inactive"; }));
  REQUIRE(WaitUntil([&] {
    for (const std::string& p : stack.MountPoints()) {
      if (absl::EndsWith(p, ".secret")) return false;
    }
    return true;
  }));
}

TEST_CASE("a task's token is not kept once it ran: outbox rows, dead letters",
          "[integration]") {
  Stack stack;
  stack.StartEmulator();
  stack.StartConductor();
  stack.StartApi();

  // A task no workflow takes is dead-lettered without its caller's token.
  task::v1::Task poison;
  poison.set_task_id(NewUuid());
  poison.set_server_uuid(NewUuid());
  poison.set_auth_token("gAAAAAB-a-user-token-that-must-not-stay");
  AmqpOptions broker;
  broker.url = TestServices::Get().amqp_url;
  AmqpPublisher publisher(broker);
  REQUIRE(publisher
              .Publish(stack.task_queue(), poison.SerializeAsString(),
                       poison.task_id())
              .ok());
  std::mutex mu;
  std::vector<std::string> dead;
  StopSignal stop;
  std::thread reader([&] {
    AmqpConsumer consumer(broker, stack.task_queue() + ".dead");
    consumer.Run(
        [&](const AmqpMessage& m) {
          std::lock_guard<std::mutex> lock(mu);
          dead.push_back(m.body);
          return Disposition::kAck;
        },
        stop);
  });
  const bool arrived = WaitUntil([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !dead.empty();
  });
  stop.Stop();
  reader.join();
  REQUIRE(arrived);
  task::v1::Task kept;
  REQUIRE(kept.ParseFromString(dead[0]));
  CHECK(kept.server_uuid() == poison.server_uuid());
  CHECK(kept.auth_token().empty());

  // A sent outbox row keeps no body (a task's carries the token).
  const std::string server = stack.CreateServer("hv1");
  const std::string share = stack.CreateShare();
  stack.AttachShare(server, share);
  int sent = -1, with_body = -1;
  REQUIRE(WaitUntil([&] {
    (void)stack.db().Transact([&](pqxx::work& w) {
      auto r = w.exec1(
          "SELECT count(*) FILTER (WHERE sent_at IS NOT NULL), "
          "count(*) FILTER (WHERE sent_at IS NOT NULL AND length(payload) > 0) "
          "FROM outbox");
      sent = r[0].as<int>();
      with_body = r[1].as<int>();
      return absl::OkStatus();
    });
    return sent > 0;
  }));
  CHECK(with_body == 0);
}
