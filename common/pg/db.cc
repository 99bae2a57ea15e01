#include "common/pg/db.h"

#include "absl/strings/str_cat.h"
#include "common/core/log.h"

namespace shareplane {

Database::Database(Options options) : options_(std::move(options)) {}
Database::~Database() = default;

absl::Status StatusFromCurrentException(absl::string_view context) {
  try {
    throw;
  } catch (const pqxx::unique_violation& e) {
    return absl::AlreadyExistsError(absl::StrCat(context, ": ", e.what()));
  } catch (const pqxx::serialization_failure& e) {
    return absl::AbortedError(absl::StrCat(context, ": ", e.what()));
  } catch (const pqxx::deadlock_detected& e) {
    return absl::AbortedError(absl::StrCat(context, ": ", e.what()));
  } catch (const pqxx::integrity_constraint_violation& e) {
    return absl::FailedPreconditionError(absl::StrCat(context, ": ", e.what()));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(context, ": ", e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat(context, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(context, ": ", e.what()));
  }
}

namespace {
// The calling thread's own connection for session locks, outside the pool,
// and which Database it belongs to. The generation changes whenever the
// session does (new, broken, other database): locks of an older
// generation are gone, released by PostgreSQL with their session.
thread_local std::unique_ptr<pqxx::connection> t_lock_connection;
thread_local const Database* t_lock_database = nullptr;
thread_local uint64_t t_lock_generation = 0;

void DropLockConnection() {
  t_lock_connection.reset();
  t_lock_database = nullptr;
  ++t_lock_generation;
}
}  // namespace

SessionLock::SessionLock(Database& db, int space, std::string key, bool wait)
    : space_(space), key_(std::move(key)) {
  status_ = Exec(&db, wait ? "SELECT true FROM (SELECT pg_advisory_lock("
                             "hashtextextended($1, $2))) l"
                           : "SELECT pg_try_advisory_lock("
                             "hashtextextended($1, $2))");
  generation_ = t_lock_generation;
}

SessionLock::~SessionLock() {
  if (held()) {
    Exec(nullptr, "SELECT pg_advisory_unlock(hashtextextended($1, $2))")
        .IgnoreError();
  }
}

bool SessionLock::held() const {
  return status_.ok() && held_ && generation_ == t_lock_generation;
}

absl::Status SessionLock::Verify() {
  if (held()) {
    bool granted = held_;
    absl::Status s = Exec(nullptr,
                          "SELECT true WHERE $1::text IS NOT NULL AND "
                          "$2::bigint IS NOT NULL");
    held_ = granted;
    if (s.ok() && generation_ == t_lock_generation) return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "Lost the session lock on '", key_,
      "' (its database session ended); the task will be run again"));
}

absl::Status SessionLock::Exec(Database* db, const char* sql) {
  try {
    if (t_lock_connection && db != nullptr && t_lock_database != db) {
      DropLockConnection();  // another database's session
    }
    if (!t_lock_connection && db != nullptr) {
      auto c = db->Connect();
      if (!c.ok()) return c.status();
      t_lock_connection = std::move(*c);
      t_lock_database = db;
      ++t_lock_generation;
    }
    if (!t_lock_connection) return absl::UnavailableError("no lock connection");
    pqxx::nontransaction n(*t_lock_connection);
    pqxx::result r = n.exec_params(sql, key_, static_cast<int64_t>(space_));
    // true once the lock is ours (the try form: whether it was free).
    held_ = !r.empty() && !r[0][0].is_null() && r[0][0].as<bool>();
    return absl::OkStatus();
  } catch (...) {
    DropLockConnection();  // a broken session holds no lock any more
    return StatusFromCurrentException("session lock");
  }
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Database::Connect() {
  try {
    return std::make_unique<pqxx::connection>(options_.conninfo);
  } catch (...) {
    return StatusFromCurrentException("Cannot connect to the database");
  }
}

bool Database::ConnectionFreeLocked() const {
  return !idle_.empty() || in_use_ < options_.pool_size;
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Database::Acquire() {
  MutexLock lock(&mu_);
  const auto deadline = SteadyDeadline(options_.acquire_timeout);
  while (!ConnectionFreeLocked()) {
    // Timed out: fails unless a connection came free all the same.
    if (released_.WaitUntil(&mu_, deadline) && !ConnectionFreeLocked()) {
      return absl::UnavailableError(absl::StrCat(
          "All ", options_.pool_size, " database connections stayed busy for ",
          options_.acquire_timeout.count(), " ms"));
    }
  }
  ++in_use_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  return std::unique_ptr<pqxx::connection>();  // opened outside the lock
}

void Database::Release(std::unique_ptr<pqxx::connection> conn) {
  MutexLock lock(&mu_);
  --in_use_;
  if (conn && conn->is_open()) idle_.push_back(std::move(conn));
  released_.Signal();  // one connection free: one Acquire can have it
}

absl::Status Database::Transact(
    const std::function<absl::Status(pqxx::work&)>& fn) {
  auto acquired = Acquire();
  if (!acquired.ok()) return acquired.status();
  std::unique_ptr<pqxx::connection> conn = std::move(*acquired);
  absl::Status status;
  try {
    if (!conn) conn = std::make_unique<pqxx::connection>(options_.conninfo);
    pqxx::work txn(*conn);
    status = fn(txn);
    if (status.ok()) txn.commit();
  } catch (...) {
    status = StatusFromCurrentException("Database error");
    if (status.code() == absl::StatusCode::kUnavailable) conn.reset();
  }
  Release(std::move(conn));
  return status;
}

absl::Status Database::Read(
    const std::function<absl::Status(pqxx::transaction_base&)>& fn) {
  auto acquired = Acquire();
  if (!acquired.ok()) return acquired.status();
  std::unique_ptr<pqxx::connection> conn = std::move(*acquired);
  absl::Status status;
  try {
    if (!conn) conn = std::make_unique<pqxx::connection>(options_.conninfo);
    pqxx::nontransaction txn(*conn);
    status = fn(txn);
  } catch (...) {
    status = StatusFromCurrentException("Database error");
    if (status.code() == absl::StatusCode::kUnavailable) conn.reset();
  }
  Release(std::move(conn));
  return status;
}

absl::StatusOr<int> SchemaVersion(Database& db) {
  int version = 0;
  absl::Status s = db.Transact([&](pqxx::work& w) {
    pqxx::result r =
        w.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (!r[0][0].as<bool>()) return absl::OkStatus();
    r = w.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    version = r[0][0].as<int>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return version;
}

absl::StatusOr<int> MigrateSchema(Database& db) {
  int reached = 0;
  for (const Migration& m : BuiltinMigrations()) {
    bool applied = false;
    absl::Status s = db.Transact([&](pqxx::work& w) {
      // Serializes concurrent migrators; released at commit.
      w.exec("SELECT pg_advisory_xact_lock(726354)");
      w.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      pqxx::result r = w.exec_params(
          "SELECT 1 FROM schema_migrations WHERE version = $1", m.number);
      if (!r.empty()) return absl::OkStatus();
      w.exec(m.sql);
      w.exec_params(
          "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
          m.number, std::string(m.name));
      applied = true;
      return absl::OkStatus();
    });
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("Migration ", m.number, " (", m.name,
                                       ") failed: ", s.message()));
    }
    if (applied)
      SP_LOG(Info) << "Applied migration " << m.number << " " << m.name;
    reached = m.number;
  }
  return reached;
}

}  // namespace shareplane
