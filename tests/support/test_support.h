// Test harness: the shared PostgreSQL and RabbitMQ started by
// tests/support/services (a CTest fixture), a private database per test,
// daemons run as real processes, and waiting with a deadline.
#ifndef SHAREPLANE_TESTS_SUPPORT_TEST_SUPPORT_H_
#define SHAREPLANE_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/http/http.h"
#include "common/pg/db.h"
#include "common/pg/store.h"

namespace shareplane::testing {

// URLs of the services the fixture started (from $SHAREPLANE_TEST_ENV).
// Fails the test (throws) when the fixture did not run.
struct TestServices {
  std::string pg_url;    // postgresql://postgres@127.0.0.1:PORT/postgres
  std::string amqp_url;  // amqp://guest:guest@127.0.0.1:PORT
  // Both also speak TLS with a certificate for 127.0.0.1 and localhost
  // signed by tls_ca: PostgreSQL on its port, RabbitMQ at amqps_url.
  std::string tls_ca;
  std::string amqps_url;  // amqps://guest:guest@localhost:PORT
  std::string services_dir;
  // The fixture's Keystone (tests/support/keystone): every user's password
  // is keystone_password; "demo" is alice's and bob's project.
  std::string keystone_url;  // http://127.0.0.1:PORT/v3
  std::string keystone_password;
  std::string demo_project_id;
  static const TestServices& Get();
  // Stops and starts the broker (same port). Blocks until it is up again.
  void RestartRabbitMq() const;
  // A fast stop (every session cut) and a start of PostgreSQL, same port.
  void RestartPostgres() const;
};

// For programs outside CTest (benchmarks): starts PostgreSQL and RabbitMQ
// with tests/support/services unless $SHAREPLANE_TEST_ENV already names
// running ones, and stops what it started.
class ScopedServices {
 public:
  // With `keystone`, a Keystone too (tests/support/keystone).
  explicit ScopedServices(bool keystone = false);
  ~ScopedServices();

 private:
  std::string dir_;
};

// A fresh database with the schema applied, dropped at destruction.
class ScopedDatabase {
 public:
  ScopedDatabase();
  ~ScopedDatabase();
  const std::string& url() const { return url_; }
  Database& db() { return *db_; }

 private:
  std::string name_;
  std::string url_;
  std::unique_ptr<Database> db_;
};

// A flavor named `id` with 1 vCPU and 256 MiB.
Flavor TestFlavor(const std::string& id);

// A loopback TCP port that was free a moment ago.
int FreePort();
// A unique name for queues and the like.
std::string UniqueName(const std::string& prefix);

// The status `call` answers, or -1 when it throws (a transport failure):
// for calls on other threads, where neither an assertion nor an exception
// may escape.
int StatusOf(const std::function<HttpResponse()>& call);

// The body of POST /servers/{id}/shares: {"share": {"share_id", "tag"?}}.
std::string AttachBody(const std::string& share, const std::string& tag = "");

// A child process started with an argv (never a shell); output goes to a
// log file kept for failure reports. Terminated (SIGTERM, then SIGKILL) at
// destruction, and killed if the test process dies.
class Process {
 public:
  // `env` is added to the child's environment. Standard output and error
  // go to one log, or two with `separate_stderr`.
  Process(const std::string& name, std::vector<std::string> argv,
          const std::map<std::string, std::string>& env = {},
          bool separate_stderr = false);
  ~Process();
  void Stop();
  // SIGKILL, then reaps it.
  void Kill();
  void Signal(int signo);
  bool running();
  // Exit status once running() returned false (-1 if killed by a signal).
  int exit_code() const { return exit_code_; }
  std::string Log() const;
  std::string ErrLog() const;
  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }

 private:
  std::string name_;
  std::string log_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs a command to completion (argv, never a shell); killed after
// `timeout`.
CommandResult RunCommand(
    const std::string& name, std::vector<std::string> argv,
    const std::map<std::string, std::string>& env = {},
    std::chrono::seconds timeout = std::chrono::seconds(120));

// Path of a built binary, from $SHAREPLANE_BIN_DIR.
std::string BinaryPath(const std::string& relative);
// Path of a file in the source tree, from $SHAREPLANE_SOURCE_DIR.
std::string SourcePath(const std::string& relative);

// Polls `pred` every 20 ms until it returns true or `timeout` passes.
bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));

// A new empty directory under the run's temp dir.
std::string NewTempDir(const std::string& prefix);
// Writes an INI file in a temp dir and returns its path.
std::string WriteConfig(const std::string& text);

// HTTP helpers for tests.
HttpResponse Http(
    const std::string& method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    const std::string& body = "");

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_SUPPORT_TEST_SUPPORT_H_
