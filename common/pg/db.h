// PostgreSQL access: a connection pool and transactions that turn libpqxx
// exceptions into canonical statuses, plus the numbered schema migrations.
#ifndef SHAREPLANE_COMMON_PG_DB_H_
#define SHAREPLANE_COMMON_PG_DB_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/core/mutex.h"

namespace shareplane {

// Thread-safe. Connections are opened lazily and dropped when broken, so the
// pool recovers by itself once PostgreSQL is back.
class Database {
 public:
  struct Options {
    std::string conninfo;
    int pool_size = 4;
    // How long a caller waits for a pooled connection: Unavailable after.
    std::chrono::milliseconds acquire_timeout{10000};
  };
  explicit Database(Options options);
  ~Database();

  // Runs `fn` in one transaction and commits when it returns OK; rolls back
  // otherwise. Waits up to acquire_timeout while all connections are in
  // use (then Unavailable). Codes:
  // AlreadyExists (unique violation), Aborted (serialization failure or
  // deadlock: retry the whole call), Unavailable (cannot reach the server),
  // FailedPrecondition (other constraint violations), Internal (other SQL
  // errors), or whatever `fn` returned.
  absl::Status Transact(const std::function<absl::Status(pqxx::work&)>& fn)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `fn` without a transaction (each statement commits by itself), for
  // reads that need no snapshot across statements: saves BEGIN and COMMIT
  // round trips on hot read paths. Same codes as Transact.
  absl::Status Read(
      const std::function<absl::Status(pqxx::transaction_base&)>& fn)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Gives `fn` a dedicated connection outside the pool, for LISTEN loops.
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect();

  const std::string& conninfo() const { return options_.conninfo; }

 private:
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire()
      ABSL_LOCKS_EXCLUDED(mu_);
  void Release(std::unique_ptr<pqxx::connection> conn) ABSL_LOCKS_EXCLUDED(mu_);
  // What Acquire waits for: an idle connection, or room to open one.
  bool ConnectionFreeLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  Options options_;  // set at construction, read-only after
  Mutex mu_;
  CondVar released_;  // signalled when Release frees a connection
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

// A session-level PostgreSQL advisory lock on (`space`, `key`), held from
// construction to destruction on a connection of the calling thread that
// is not in the pool: nothing else is held while the owner calls Manila or
// an agent, and a process that dies loses its session and the lock with
// it. Blocks until granted. Locks of one thread nest (one session: if it
// breaks, every lock of the thread is gone, which held()/Verify() tell).
// Not movable; use on one thread.
class SessionLock {
 public:
  // `wait` false: takes the lock only if it is free; held() says whether.
  SessionLock(Database& db, int space, std::string key, bool wait = true);
  ~SessionLock();
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;
  // Unavailable when the lock could not be taken (the database is away).
  const absl::Status& status() const { return status_; }
  // The lock is ours: taken (without waiting: it was free) and its session
  // has not changed since.
  bool held() const;
  // Checks with a round trip that the session holding the lock is still
  // alive; Unavailable when the lock is gone (call before acting on what
  // the lock protects: a Manila call, recording its outcome).
  absl::Status Verify();

 private:
  absl::Status Exec(Database* db, const char* sql);
  int space_;
  std::string key_;
  absl::Status status_;
  bool held_ = false;
  uint64_t generation_ = 0;
};
// Lock spaces: the tasks of one server; the access-rule decisions of one
// share (also taken per transaction by LockShareAccess).
inline constexpr int kServerLockSpace = 7;
inline constexpr int kShareLockSpace = 42;

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

#endif  // SHAREPLANE_COMMON_PG_DB_H_
