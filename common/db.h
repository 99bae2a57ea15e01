// PostgreSQL access: a connection pool and transactions that turn libpqxx
// exceptions into canonical statuses, plus the numbered schema migrations.
#ifndef SHAREPLANE_COMMON_DB_H_
#define SHAREPLANE_COMMON_DB_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shareplane {

// Thread-safe. Connections are opened lazily and dropped when broken, so the
// pool recovers by itself once PostgreSQL is back.
class Database {
 public:
  struct Options {
    std::string conninfo;
    int pool_size = 4;
  };
  explicit Database(Options options);
  ~Database();

  // Runs `fn` in one transaction and commits when it returns OK; rolls back
  // otherwise. Blocks while all connections are in use. Codes:
  // AlreadyExists (unique violation), Aborted (serialization failure or
  // deadlock: retry the whole call), Unavailable (cannot reach the server),
  // FailedPrecondition (other constraint violations), Internal (other SQL
  // errors), or whatever `fn` returned.
  absl::Status Transact(const std::function<absl::Status(pqxx::work&)>& fn);

  // Runs `fn` without a transaction (each statement commits by itself), for
  // reads that need no snapshot across statements: saves BEGIN and COMMIT
  // round trips on hot read paths. Same codes as Transact.
  absl::Status Read(
      const std::function<absl::Status(pqxx::transaction_base&)>& fn);

  // Gives `fn` a dedicated connection outside the pool, for LISTEN loops.
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect();

  const std::string& conninfo() const { return options_.conninfo; }

 private:
  std::unique_ptr<pqxx::connection> Acquire();
  void Release(std::unique_ptr<pqxx::connection> conn);

  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int in_use_ = 0;
};

// Converts the exception currently being handled into a status.
absl::Status StatusFromCurrentException(absl::string_view context);

struct Migration {
  int number;
  const char* name;
  const char* sql;
};
// The migrations built into this binary, in order.
const std::vector<Migration>& BuiltinMigrations();

// Applies every migration not yet recorded in schema_migrations, each in its
// own transaction, under an advisory lock so concurrent callers are safe.
// Returns the schema version reached.
absl::StatusOr<int> MigrateSchema(Database& db);
absl::StatusOr<int> SchemaVersion(Database& db);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_DB_H_
