// The PostgreSQL store against a real server: migrations, constraints,
// compare-and-set and the outbox.
#include "common/pg/store.h"

#include <catch2/catch.hpp>
#include <thread>

#include "common/core/ids.h"
#include "tests/support/test_support.h"

using namespace shareplane;
using shareplane::testing::ScopedDatabase;
using shareplane::testing::TestFlavor;
using shareplane::testing::WaitUntil;

namespace {

std::string SeedServer(Database& db) {
  Server s;
  s.uuid = NewUuid();
  s.name = "vm";
  s.project_id = "demo";
  s.user_id = "alice";
  s.flavor_id = "f1";
  s.host = "hv1";
  s.vm_state = "stopped";
  REQUIRE(db.Transact([&](pqxx::work& w) {
              if (!GetFlavor(w, "f1")) InsertFlavor(w, TestFlavor("f1"));
              ComputeHost h;
              h.hostname = "hv1";
              h.storage_ip = "192.0.2.1";
              h.agent_endpoint = "127.0.0.1:1";
              UpsertComputeHost(w, h);
              InsertServer(w, s);
              return absl::OkStatus();
            }).ok());
  return s.uuid;
}

ShareMapping Mapping(const std::string& server, const std::string& share,
                     const std::string& tag) {
  ShareMapping m;
  m.uuid = NewUuid();
  m.server_uuid = server;
  m.share_id = share;
  m.tag = tag;
  m.status = "attaching";
  m.share_proto = "NFS";
  m.export_location = "h:/x";
  return m;
}

}  // namespace

TEST_CASE("db sync is idempotent and reports the schema version",
          "[integration]") {
  ScopedDatabase d;  // already migrated once
  auto again = MigrateSchema(d.db());
  REQUIRE(again.ok());
  CHECK(*again == static_cast<int>(BuiltinMigrations().size()));
  CHECK(*SchemaVersion(d.db()) == *again);
}

TEST_CASE("two racing inserts of the same share on one server give one row",
          "[integration]") {
  ScopedDatabase d;
  const std::string server = SeedServer(d.db());
  const std::string share = NewUuid();
  for (int round = 0; round < 5; ++round) {
    const std::string s = round == 0 ? share : NewUuid();
    std::atomic<int> ready{0};
    absl::Status results[2];
    std::thread threads[2];
    for (int i = 0; i < 2; ++i) {
      threads[i] = std::thread([&, i] {
        results[i] = d.db().Transact([&](pqxx::work& w) {
          // Both transactions are open before either inserts.
          w.exec("SELECT 1");
          ++ready;
          while (ready < 2) std::this_thread::yield();
          InsertShareMapping(w, Mapping(server, s,
                                        "r" + std::to_string(round) + "t" +
                                            std::to_string(i)));
          return absl::OkStatus();
        });
      });
    }
    for (auto& t : threads) t.join();
    CHECK(results[0].ok() != results[1].ok());
    const absl::Status& loser = results[0].ok() ? results[1] : results[0];
    CHECK(loser.code() == absl::StatusCode::kAlreadyExists);
  }
  int rows = 0;
  REQUIRE(d.db()
              .Transact([&](pqxx::work& w) {
                rows = ListShareMappings(w, server).size();
                return absl::OkStatus();
              })
              .ok());
  CHECK(rows == 5);
}

TEST_CASE("the same tag twice on one server is refused", "[integration]") {
  ScopedDatabase d;
  const std::string server = SeedServer(d.db());
  auto insert = [&](const std::string& share) {
    return d.db().Transact([&](pqxx::work& w) {
      InsertShareMapping(w, Mapping(server, share, "data"));
      return absl::OkStatus();
    });
  };
  REQUIRE(insert(NewUuid()).ok());
  CHECK(insert(NewUuid()).code() == absl::StatusCode::kAlreadyExists);
}

TEST_CASE("a stale version loses the compare-and-set", "[integration]") {
  ScopedDatabase d;
  const std::string server = SeedServer(d.db());
  ShareMapping m = Mapping(server, NewUuid(), "t");
  bool first = false, second = false, deleted_update = true;
  REQUIRE(d.db()
              .Transact([&](pqxx::work& w) {
                InsertShareMapping(w, m);
                auto row = GetShareMapping(w, m.uuid);
                first = UpdateShareMappingStatus(w, m.uuid, row->version,
                                                 "inactive", "rule-1", "");
                second = UpdateShareMappingStatus(w, m.uuid, row->version,
                                                  "error", "", "late");
                auto now = GetShareMapping(w, m.uuid);
                CHECK(now->status == "inactive");
                CHECK(now->access_id == "rule-1");
                REQUIRE(DeleteShareMapping(w, m.uuid, now->version));
                // A status save never resurrects a deleted mapping.
                deleted_update = UpdateShareMappingStatus(
                    w, m.uuid, now->version, "inactive", "", "");
                CHECK_FALSE(GetShareMapping(w, m.uuid).has_value());
                return absl::OkStatus();
              })
              .ok());
  CHECK(first);
  CHECK_FALSE(second);
  CHECK_FALSE(deleted_update);
}

TEST_CASE("relays take turns and claim each outbox row once, in order",
          "[integration]") {
  ScopedDatabase d;
  REQUIRE(d.db()
              .Transact([&](pqxx::work& w) {
                for (int i = 0; i < 10; ++i) {
                  InsertOutbox(w, "q", std::string("\0\1payload", 9), "req-x");
                }
                return absl::OkStatus();
              })
              .ok());
  std::vector<OutboxRow> a, b;
  std::atomic<bool> a_claimed{false}, a_ended{false}, a_committing{false};
  // The first relay claims 6 rows, publishes until the second relay waits
  // for its turn, marks them sent. Its thread only records what it saw:
  // the assertions are the test's thread's.
  absl::Status a_status;
  bool b_waited = false;
  std::thread first([&] {
    a_status = d.db().Transact([&](pqxx::work& w) {
      a = ClaimUnsentOutbox(w, 6);
      a_claimed = true;
      // A backend that waits for a lock this transaction holds.
      b_waited = WaitUntil([&] {
        return w.exec1(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
                    "pg_backend_pid() = ANY(pg_blocking_pids(pid))")[0]
                   .as<int>() > 0;
      });
      a_committing = true;
      std::vector<int64_t> ids;
      for (auto& r : a) ids.push_back(r.id);
      MarkOutboxSent(w, ids);
      return absl::OkStatus();
    });
    a_ended = true;
  });
  while (!a_claimed && !a_ended) std::this_thread::yield();
  // A second relay waits for its turn, then sees only the rest.
  bool b_after_commit = false;
  const absl::Status b_status = d.db().Transact([&](pqxx::work& w) {
    b = ClaimUnsentOutbox(w, 100);
    b_after_commit = a_committing;  // only after the first relay's commit
    return absl::OkStatus();
  });
  first.join();
  REQUIRE(a_status.ok());
  REQUIRE(b_status.ok());
  CHECK(b_waited);
  CHECK(b_after_commit);
  REQUIRE(a.size() == 6);
  REQUIRE(b.size() == 4);
  CHECK(a[0].payload == std::string("\0\1payload", 9));
  CHECK(a.back().id < b.front().id);
}

TEST_CASE("an unreachable database is Unavailable, not a crash",
          "[integration]") {
  Database db({"postgresql://postgres@127.0.0.1:1/none", 2});
  absl::Status s = db.Transact([](pqxx::work&) { return absl::OkStatus(); });
  CHECK(s.code() == absl::StatusCode::kUnavailable);
}
