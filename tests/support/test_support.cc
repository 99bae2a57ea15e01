#include "tests/support/test_support.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/core/ids.h"

namespace shareplane::testing {
namespace {

std::string Unquote(std::string v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    v = v.substr(1, v.size() - 2);
  }
  return v;
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string TempDir() {
  static const std::string dir = [] {
    std::string tmpl = "/tmp/shareplane-test.XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    return tmpl;
  }();
  return dir;
}

}  // namespace

const TestServices& TestServices::Get() {
  static const TestServices services = [] {
    const std::string env =
        EnvOr("SHAREPLANE_TEST_ENV", SHAREPLANE_TEST_ENV_DEFAULT);
    std::ifstream in(env);
    if (!in) {
      throw std::runtime_error(absl::StrCat(
          "cannot read ", env,
          ": run the tests with ctest, whose fixture starts PostgreSQL and "
          "RabbitMQ (tests/support/services start DIR)"));
    }
    TestServices s;
    std::string line;
    while (std::getline(in, line)) {
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string key = line.substr(0, eq),
                  value = Unquote(line.substr(eq + 1));
      if (key == "SHAREPLANE_TEST_PG") s.pg_url = value;
      if (key == "SHAREPLANE_TEST_AMQP") s.amqp_url = value;
      if (key == "SHAREPLANE_TEST_AMQPS") s.amqps_url = value;
      if (key == "SHAREPLANE_TEST_TLS_CA") s.tls_ca = value;
      if (key == "SERVICES_DIR") s.services_dir = value;
      if (key == "SHAREPLANE_TEST_KEYSTONE") s.keystone_url = value;
      if (key == "KEYSTONE_PASSWORD") s.keystone_password = value;
      if (key == "KEYSTONE_PROJECT_DEMO") s.demo_project_id = value;
    }
    return s;
  }();
  return services;
}

void TestServices::RestartRabbitMq() const {
  Process restart("restart-rabbitmq", {SourcePath("tests/support/services"),
                                       "restart-rabbitmq", services_dir});
  if (!WaitUntil([&] { return !restart.running(); },
                 std::chrono::seconds(120))) {
    throw std::runtime_error("RabbitMQ restart timed out");
  }
}

void TestServices::RestartPostgres() const {
  Process restart("restart-postgres", {SourcePath("tests/support/services"),
                                       "restart-postgres", services_dir});
  if (!WaitUntil([&] { return !restart.running(); },
                 std::chrono::seconds(120))) {
    throw std::runtime_error("PostgreSQL restart timed out");
  }
}

namespace {
void RunServices(const std::string& command, const std::string& dir,
                 bool keystone = false) {
  std::vector<std::string> argv = {SourcePath("tests/support/services"),
                                   command, dir};
  if (keystone) argv.push_back("keystone");
  Process p("services", argv);
  WaitUntil([&] { return !p.running(); }, std::chrono::seconds(120));
}
}  // namespace

ScopedServices::ScopedServices(bool keystone) {
  if (std::getenv("SHAREPLANE_TEST_ENV") != nullptr) return;
  char tmpl[] = "/tmp/shareplane-services.XXXXXX";
  dir_ = mkdtemp(tmpl);
  chmod(dir_.c_str(), 0755);  // PostgreSQL runs as postgres
  RunServices("start", dir_, keystone);
  setenv("SHAREPLANE_TEST_ENV", (dir_ + "/env").c_str(), 1);
}

ScopedServices::~ScopedServices() {
  if (!dir_.empty()) RunServices("stop", dir_);
}

ScopedDatabase::ScopedDatabase() {
  const auto& services = TestServices::Get();
  name_ = "sp_" + NewUuid().substr(0, 8) + NewUuid().substr(0, 8);
  {
    pqxx::connection admin(services.pg_url);
    pqxx::nontransaction w(admin);
    w.exec("CREATE DATABASE " + name_);
  }
  url_ = services.pg_url.substr(0, services.pg_url.rfind('/') + 1) + name_;
  db_ = std::make_unique<Database>(Database::Options{url_, 8});
  auto version = MigrateSchema(*db_);
  if (!version.ok())
    throw std::runtime_error(std::string(version.status().message()));
}

ScopedDatabase::~ScopedDatabase() {
  db_.reset();
  try {
    pqxx::connection admin(TestServices::Get().pg_url);
    pqxx::nontransaction w(admin);
    w.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

Flavor TestFlavor(const std::string& id) {
  Flavor f;
  f.id = f.name = id;
  f.ram_mb = 256;
  return f;
}

int FreePort() {
  // The kernel may hand a just-closed port out again; a test's daemons
  // bind theirs only later, so never give out the same port twice.
  static std::mutex mu;
  static std::set<int> given;
  std::lock_guard<std::mutex> lock(mu);
  while (true) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (given.insert(port).second) return port;
  }
}

std::string UniqueName(const std::string& prefix) {
  return prefix + "-" + NewUuid().substr(0, 13);
}

std::string SourcePath(const std::string& relative) {
  return EnvOr("SHAREPLANE_SOURCE_DIR", SHAREPLANE_SOURCE_DIR_DEFAULT) + "/" +
         relative;
}

std::string BinaryPath(const std::string& relative) {
  return EnvOr("SHAREPLANE_BIN_DIR", SHAREPLANE_BIN_DIR_DEFAULT) + "/" +
         relative;
}

Process::Process(const std::string& name, std::vector<std::string> argv,
                 const std::map<std::string, std::string>& env,
                 bool separate_stderr)
    : name_(name) {
  static std::atomic<int> counter{0};
  log_path_ = absl::StrCat(TempDir(), "/", name, "-", counter++, ".log");
  if (separate_stderr) err_path_ = log_path_ + ".err";
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    if (!err_path_.empty()) {
      fd = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    dup2(fd, STDERR_FILENO);
    // Nothing else of the test process (listening sockets of proxies, ...)
    // outlives it in the child.
    close_range(3, ~0U, 0);
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() { Stop(); }

bool Process::running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return false;
  }
  return true;
}

void Process::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Process::Signal(int signo) {
  if (running()) kill(pid_, signo);
}

void Process::Stop() {
  if (!running()) return;
  kill(pid_, SIGTERM);
  if (!WaitUntil([&] { return !running(); }, std::chrono::seconds(10))) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

namespace {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

std::string Process::Log() const { return ReadFile(log_path_); }
std::string Process::ErrLog() const {
  return err_path_.empty() ? "" : ReadFile(err_path_);
}

CommandResult RunCommand(const std::string& name, std::vector<std::string> argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::seconds timeout) {
  Process p(name, std::move(argv), env, /*separate_stderr=*/true);
  CommandResult r;
  if (!WaitUntil([&] { return !p.running(); }, timeout)) {
    p.Stop();
    r.exit_code = -1;
    r.err = "timed out\n";
  } else {
    r.exit_code = p.exit_code();
  }
  r.out = p.Log();
  r.err += p.ErrLog();
  return r;
}

bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string NewTempDir(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string path = absl::StrCat(TempDir(), "/", prefix, "-", counter++);
  std::filesystem::create_directories(path);
  return path;
}

std::string WriteConfig(const std::string& text) {
  static std::atomic<int> counter{0};
  std::string path = absl::StrCat(TempDir(), "/conf-", counter++, ".conf");
  std::ofstream(path) << text;
  return path;
}

HttpResponse Http(
    const std::string& method, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body) {
  HttpClientRequest req;
  req.method = method;
  req.url = url;
  req.headers = headers;
  req.body = body;
  req.timeout = std::chrono::seconds(30);
  if (!body.empty())
    req.headers.emplace_back("Content-Type", "application/json");
  auto resp = HttpFetch(req);
  if (!resp.ok()) {
    throw std::runtime_error(std::string(resp.status().message()));
  }
  return *resp;
}

std::string AttachBody(const std::string& share, const std::string& tag) {
  nlohmann::json s = {{"share_id", share}};
  if (!tag.empty()) s["tag"] = tag;
  return nlohmann::json{{"share", s}}.dump();
}

int StatusOf(const std::function<HttpResponse()>& call) {
  try {
    return call().status;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace shareplane::testing
