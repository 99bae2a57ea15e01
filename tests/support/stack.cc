#include "tests/support/stack.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/amqp/amqp_bus.h"
#include "common/core/clock.h"
#include "common/core/ids.h"
#include "common/grpc/grpc_server.h"
#include "common/pg/store.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "tests/support/failure_logs.h"
#include "tests/support/pki.h"

namespace shareplane::testing {

Stack::Stack(std::string extra_config)
    : queue_(UniqueName("test.tasks")),
      api_port_(FreePort()),
      conductor_port_(FreePort()),
      compute_port_(FreePort()),
      manila_port_(FreePort()),
      grpc_port_(FreePort()),
      metadata_port_(FreePort()),
      conductor_ops_port_(FreePort()),
      compute_ops_port_(FreePort()) {
  extra_config_ = std::move(extra_config);
  config_path_ = WriteConfig(Config());
  apis_[0] = Daemon{api_port_, grpc_port_, metadata_port_, 0, nullptr};
  computes_["hv1"] = Daemon{compute_port_, 0, 0, compute_ops_port_, nullptr};
  // Last: a constructor that throws leaves nothing registered.
  failure_logs_key_ = FailureLogs::Add([this] { return LogTails(); });
}

Stack::~Stack() {
  // First: waits for a print in progress, then no listener reads the stack.
  FailureLogs::Remove(failure_logs_key_);
  apis_.clear();
  conductor_.reset();
  computes_.clear();
  emulator_.reset();
  if (!pause_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(pause_dir_, ec);
  }
}

Stack::Daemon& Stack::ApiInstance(int index) {
  Daemon& d = apis_[index];
  if (d.port == 0) {
    d.port = FreePort();
    d.grpc_port = FreePort();
    d.metadata_port = FreePort();
  }
  return d;
}

Stack::Daemon& Stack::ComputeHostDaemon(const std::string& host) {
  Daemon& d = computes_[host];
  if (d.port == 0) {
    d.port = FreePort();
    d.ops_port = FreePort();
  }
  return d;
}

const Stack::Daemon* Stack::FindCompute(const std::string& host) const {
  auto it = computes_.find(host);
  return it == computes_.end() ? nullptr : &it->second;
}

std::vector<const Process*> Stack::Processes() const {
  std::vector<const Process*> out;
  if (emulator_) out.push_back(emulator_.get());
  for (const auto& [i, d] : apis_) {
    if (d.process) out.push_back(d.process.get());
  }
  if (conductor_) out.push_back(conductor_.get());
  for (const auto& [h, d] : computes_) {
    if (d.process) out.push_back(d.process.get());
  }
  return out;
}

std::string Stack::Config() const {
  return absl::StrCat(
      "[DEFAULT]\n", "transport_url = ", TestServices::Get().amqp_url, "\n",
      "host = hv1\n"
      "my_ip = 127.0.0.1\n"
      "debug = true\n"
      "[database]\n"
      "connection = ",
      database_.url(), "\n",
      "[api]\nauth_strategy = noauth2\nlisten = 127.0.0.1\nlisten_port = ",
      api_port_, "\ngrpc_listen_port = ", grpc_port_,
      "\nmetadata_listen_port = ", metadata_port_,
      "\nmetadata_proxy_shared_secret = test-metadata-secret\n",
      "[manila]\nendpoint = ", manila_url(), "\naccess_rule_timeout = 10\n",
      "[conductor]\nlisten = 127.0.0.1\nlisten_port = ", conductor_port_,
      "\ntask_queue = ", queue_, "\nheartbeat_interval = 1\n",
      "ops_listen = 127.0.0.1\nops_listen_port = ", conductor_ops_port_, "\n",
      "[compute]\nlisten = 127.0.0.1\nlisten_port = ", compute_port_,
      "\nops_listen = 127.0.0.1\nops_listen_port = ", compute_ops_port_,
      "\nstorage_ip = 192.0.2.10\nconductor_endpoint = 127.0.0.1:",
      conductor_port_, "\nmount_driver = memory\nmount_base = /tmp/", queue_,
      "-mnt\n", TestPki::Get().Config("hv1"),
      "[libvirt]\nconnection_uri = test:///default\n", extra_config_);
}

std::string Stack::api_url(int index) const {
  auto it = apis_.find(index);
  return absl::StrCat("http://127.0.0.1:",
                      it == apis_.end() ? api_port_ : it->second.port);
}

void Stack::SetExtraConfig(std::string extra) {
  extra_config_ = std::move(extra);
  config_path_ = WriteConfig(Config());
}

std::string Stack::grpc_endpoint() const {
  return absl::StrCat("127.0.0.1:", grpc_port_);
}

std::string Stack::conductor_endpoint() const {
  return absl::StrCat("127.0.0.1:", conductor_port_);
}

std::string Stack::conductor_ops_url() const {
  return absl::StrCat("http://127.0.0.1:", conductor_ops_port_);
}

std::string Stack::compute_ops_url(const std::string& host) const {
  const Daemon* d = FindCompute(host);
  return absl::StrCat("http://127.0.0.1:", d ? d->ops_port : 0);
}

std::string Stack::metadata_url() const {
  return absl::StrCat("http://127.0.0.1:", metadata_port_);
}

std::string Stack::compute_endpoint(const std::string& host) const {
  const Daemon* d = FindCompute(host);
  return absl::StrCat("127.0.0.1:", d ? d->port : 0);
}

std::string Stack::manila_url() const {
  return absl::StrCat("http://127.0.0.1:", manila_port_, "/v2");
}

namespace {
// Whether process `pid` holds a listening TCP socket on `port`: the answer
// at a URL may come from another test's daemon that got the same port.
bool ListensOn(pid_t pid, int port) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/fd"), ec)) {
    const std::string target = std::filesystem::read_symlink(fd, ec).string();
    if (absl::StartsWith(target, "socket:[")) {
      inodes.insert(target.substr(8, target.size() - 9));
    }
  }
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 10 || f[3] != "0A") continue;  // LISTEN
      const size_t colon = f[1].rfind(':');
      if (colon == std::string::npos) continue;
      if (std::stoi(f[1].substr(colon + 1), nullptr, 16) == port &&
          inodes.count(f[9])) {
        return true;
      }
    }
  }
  return false;
}

void WaitServing(Process& p, const std::string& url) {
  const size_t colon = url.find(':', url.find("//"));
  const int port = std::stoi(url.substr(colon + 1));
  bool exited = false;
  bool up = WaitUntil([&] {
    if (!p.running()) return exited = true;  // no use waiting longer
    if (!ListensOn(p.pid(), port)) return false;
    try {
      Http("GET", url);
      return true;
    } catch (...) {
      return false;
    }
  });
  if (!up || exited) {
    throw std::runtime_error(
        absl::StrCat(p.name(), " did not start:\n", p.Log()));
  }
}
}  // namespace

void Stack::StartEmulator(int apply_delay_ms,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {
      BinaryPath("tests/manila-emulator/shareplane-manila-emulator"),
      absl::StrCat("--port=", manila_port_),
      absl::StrCat("--apply_delay_ms=", apply_delay_ms)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  emulator_ = std::make_unique<Process>("manila-emulator", argv);
  WaitServing(*emulator_, manila_url());
}

void Stack::StartApi(int index) {
  Daemon& d = ApiInstance(index);
  // A port FreePort() found free may be taken by another test's process
  // before the API binds it: then the API exits, and is started again on
  // fresh ports.
  for (int attempt = 0;; ++attempt) {
    d.process = std::make_unique<Process>(
        index == 0 ? "api" : absl::StrCat("api-", index),
        std::vector<std::string>{
            BinaryPath("api-service/shareplane-api"), "--config-file",
            config_path_, absl::StrCat("--api.listen_port=", d.port),
            absl::StrCat("--api.grpc_listen_port=", d.grpc_port),
            absl::StrCat("--api.metadata_listen_port=", d.metadata_port)});
    try {
      WaitServing(*d.process, api_url(index) + "/");
      return;
    } catch (const std::exception&) {
      if (attempt >= 2 || d.process->Log().find("Address already in use") ==
                              std::string::npos) {
        throw;
      }
    }
    d.port = FreePort();
    d.grpc_port = FreePort();
    d.metadata_port = FreePort();
    if (index == 0) {
      api_port_ = d.port;
      grpc_port_ = d.grpc_port;
      metadata_port_ = d.metadata_port;
    }
  }
}

void Stack::KillApi(int index) {
  auto it = apis_.find(index);
  if (it != apis_.end() && it->second.process) it->second.process->Kill();
}

void Stack::StartConductor(const std::string& crash_at,
                           const std::string& pause_at) {
  std::map<std::string, std::string> env = PauseEnv(pause_at);
  if (!crash_at.empty()) env["SHAREPLANE_CRASH_AT"] = crash_at;
  conductor_ = std::make_unique<Process>("conductor", ConductorArgv(), env);
  if (!WaitUntil([&] {
        return conductor_->Log().find("Consuming") != std::string::npos;
      })) {
    throw std::runtime_error("conductor did not start:\n" + conductor_->Log());
  }
}

std::vector<std::string> Stack::ConductorArgv() const {
  std::vector<std::string> argv = {BinaryPath("conductor/shareplane-conductor"),
                                   "--config-file", config_path_};
  if (!Insecure()) {
    for (auto& f : TestPki::Get().Flags(kConductorName)) argv.push_back(f);
  }
  return argv;
}

std::map<std::string, std::string> Stack::PauseEnv(
    const std::string& pause_at) {
  std::map<std::string, std::string> env;
  if (pause_at.empty()) return env;
  if (pause_dir_.empty()) pause_dir_ = NewTempDir("pause");
  env["SHAREPLANE_PAUSE_AT"] = pause_at;
  env["SHAREPLANE_PAUSE_DIR"] = pause_dir_;
  return env;
}

void Stack::KillConductor() {
  if (conductor_) conductor_->Kill();
}

bool Stack::WaitPaused(const std::string& point) {
  if (pause_dir_.empty()) return false;
  return WaitUntil([&] {
    return std::filesystem::exists(pause_dir_ + "/" + point + ".reached");
  });
}

void Stack::Resume(const std::string& point) {
  if (pause_dir_.empty()) return;
  std::ofstream(pause_dir_ + "/" + point + ".go") << "go\n";
}

void Stack::StartCompute(const std::string& host, const std::string& pause_at,
                         const std::vector<std::string>& flags) {
  Daemon& d = ComputeHostDaemon(host);
  std::vector<std::string> argv = {
      BinaryPath("compute-agent/shareplane-compute"), "--config-file",
      config_path_};
  if (host != "hv1") {
    const bool numbered = std::isdigit(host.back()) != 0;
    argv.insert(argv.end(),
                {absl::StrCat("--host=", host),
                 absl::StrCat("--compute.listen_port=", d.port),
                 absl::StrCat("--compute.ops_listen_port=", d.ops_port),
                 absl::StrCat("--compute.storage_ip=192.0.2.",
                              numbered ? 9 + (host.back() - '0') : 99),
                 absl::StrCat("--compute.mount_base=/tmp/", queue_, "-", host,
                              "-mnt")});
    if (!Insecure()) {
      for (auto& f : TestPki::Get().Flags(host)) argv.push_back(f);
    }
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  d.process = std::make_unique<Process>(
      host == "hv1" ? "compute" : "compute-" + host, argv, PauseEnv(pause_at));
  bool registered = WaitUntil([&] {
    std::optional<ComputeHost> h;
    (void)db().Transact([&](pqxx::work& w) {
      h = GetComputeHost(w, host);
      return absl::OkStatus();
    });
    return h.has_value() &&
           h->agent_endpoint == absl::StrCat("127.0.0.1:", d.port);
  });
  if (!registered) {
    throw std::runtime_error("compute agent did not register:\n" + Logs());
  }
  WaitServing(*d.process, compute_ops_url(host) + "/healthcheck");
}

void Stack::StopCompute(const std::string& host) {
  auto it = computes_.find(host);
  if (it != computes_.end()) it->second.process.reset();
}

void Stack::KillCompute(const std::string& host) {
  auto it = computes_.find(host);
  if (it != computes_.end() && it->second.process) it->second.process->Kill();
}

void Stack::SuspendCompute(const std::string& host) {
  auto it = computes_.find(host);
  if (it != computes_.end() && it->second.process) {
    it->second.process->Signal(SIGSTOP);
  }
}

void Stack::ResumeCompute(const std::string& host) {
  auto it = computes_.find(host);
  if (it != computes_.end() && it->second.process) {
    it->second.process->Signal(SIGCONT);
  }
}

std::string Stack::CreateServer(const std::string& host,
                                const std::string& state,
                                const std::string& project) {
  Server s;
  s.uuid = NewUuid();
  s.name = "vm-" + s.uuid.substr(0, 8);
  s.project_id = project;
  s.user_id = "alice";
  s.flavor_id = "m1.test";
  s.host = host;
  s.vm_state = state;
  absl::Status st = db().Transact([&](pqxx::work& w) {
    if (!GetFlavor(w, "m1.test")) {
      InsertFlavor(w, TestFlavor("m1.test"));
    }
    if (!GetComputeHost(w, host)) {
      ComputeHost h;
      h.hostname = host;
      // hv1 -> 192.0.2.20, hv2 -> 192.0.2.21, ...; others 192.0.2.20.
      const bool numbered = std::isdigit(host.back()) != 0;
      h.storage_ip =
          absl::StrCat("192.0.2.", numbered ? 19 + (host.back() - '0') : 20);
      h.agent_endpoint = "127.0.0.1:1";
      h.traits = {"COMPUTE_STORAGE_VIRTIO_FS", "CUSTOM_MEM_BACKING_MEMFD"};
      h.memory_mb = 16384;
      h.vcpus = 8;
      UpsertComputeHost(w, h);
    }
    InsertServer(w, s);
    return absl::OkStatus();
  });
  if (!st.ok()) throw std::runtime_error(std::string(st.message()));
  return s.uuid;
}

std::string Stack::SeedLostMapping(const std::string& server,
                                   const std::string& share,
                                   const std::string& status) {
  ShareMapping m;
  m.uuid = NewUuid();
  m.server_uuid = server;
  m.share_id = share;
  m.tag = share;
  m.status = status;
  m.share_proto = "NFS";
  m.export_location = "127.0.0.1:/shares/share-" + share;
  absl::Status st = db().Transact([&](pqxx::work& w) {
    InsertShareMapping(w, m);
    w.exec_params(
        "UPDATE share_mappings SET updated_at = now() - interval '1 hour' "
        "WHERE uuid = $1",
        m.uuid);
    return absl::OkStatus();
  });
  if (!st.ok()) throw std::runtime_error(std::string(st.message()));
  return m.uuid;
}

HttpResponse Stack::ManilaAdmin(const std::string& method,
                                const std::string& path,
                                const std::string& body) {
  return Http(method, manila_url() + path,
              {{"X-Auth-Token", "admin:admin"},
               {"X-Service-Token", "nova:service"},
               {"X-OpenStack-Manila-API-Version", "2.82"}},
              body);
}

nlohmann::json Stack::ManilaRules(const std::string& share_id) {
  HttpResponse r =
      ManilaAdmin("GET", "/share-access-rules?share_id=" + share_id);
  if (r.status != 200) throw std::runtime_error("rule list: " + r.body);
  return nlohmann::json::parse(r.body)["access_list"];
}

nlohmann::json Stack::ManilaLocks(const std::string& resource_id) {
  HttpResponse r =
      ManilaAdmin("GET", "/resource-locks?resource_id=" + resource_id);
  if (r.status != 200) throw std::runtime_error("lock list: " + r.body);
  return nlohmann::json::parse(r.body)["resource_locks"];
}

std::string Stack::ServerStatus(const std::string& id) {
  HttpResponse r = Api("GET", "/v2.1/servers/" + id);
  if (r.status != 200) return "";
  return nlohmann::json::parse(r.body)["server"].value("status", "");
}

void Stack::AttachShare(const std::string& server, const std::string& share) {
  HttpResponse r = Api("POST", "/v2.1/servers/" + server + "/shares",
                       nlohmann::json{{"share", {{"share_id", share}}}}.dump());
  if (r.status != 201) {
    throw std::runtime_error(absl::StrCat("attach of ", share, " to ", server,
                                          ": ", r.status, " ", r.body));
  }
  if (!WaitUntil([&] { return ShareStatus(server, share) == "inactive"; })) {
    throw std::runtime_error(absl::StrCat("attach of ", share, " to ", server,
                                          " did not end inactive but '",
                                          ShareStatus(server, share), "'"));
  }
}

std::string Stack::BootServer(bool stopped) {
  HttpResponse f = Api("GET", "/v2.1/flavors/m1.tiny");
  if (f.status == 404) {
    f = Api("POST", "/v2.1/flavors",
            R"({"flavor": {"name": "m1.tiny", "id": "m1.tiny", "ram": 256,
                "vcpus": 1, "disk": 1}})",
            "admin:admin");
  }
  if (f.status != 200 && f.status != 409) {
    throw std::runtime_error("flavor m1.tiny: " + f.body);
  }
  HttpResponse c = Api("POST", "/v2.1/servers",
                       R"({"server": {"name": "vm1", "flavorRef": "m1.tiny",
                           "networks": "none"}})");
  if (c.status != 202) throw std::runtime_error("server create: " + c.body);
  const std::string id = nlohmann::json::parse(c.body)["server"]["id"];
  auto reach = [&](const std::string& status) {
    if (!WaitUntil([&] { return ServerStatus(id) == status; })) {
      throw std::runtime_error("server " + id + " did not become " + status +
                               ":\n" + Logs());
    }
  };
  reach("ACTIVE");
  if (stopped) {
    HttpResponse a =
        Api("POST", "/v2.1/servers/" + id + "/action", R"({"os-stop": null})");
    if (a.status != 202) throw std::runtime_error("os-stop: " + a.body);
    reach("SHUTOFF");
  }
  return id;
}

std::string Stack::CreateShare(const std::string& proto) {
  HttpResponse r =
      Http("POST", manila_url() + "/shares", {{"X-Auth-Token", "admin:admin"}},
           nlohmann::json{
               {"share", {{"share_proto", proto}, {"project_id", "demo"}}}}
               .dump());
  if (r.status != 200) throw std::runtime_error("share create: " + r.body);
  return nlohmann::json::parse(r.body)["share"]["id"];
}

HttpResponse Stack::Api(const std::string& method, const std::string& path,
                        const std::string& body, const std::string& token) {
  return ApiAt(0, method, path, body, token);
}

HttpResponse Stack::ApiAt(int index, const std::string& method,
                          const std::string& path, const std::string& body,
                          const std::string& token) {
  return Http(
      method, api_url(index) + path,
      {{"X-Auth-Token", token}, {"OpenStack-API-Version", "compute 2.97"}},
      body);
}

std::string Stack::ShareStatus(const std::string& server_id,
                               const std::string& share_id) {
  HttpResponse r = Api("GET", "/v2.1/servers/" + server_id + "/shares");
  if (r.status != 200) return "http-" + std::to_string(r.status);
  const nlohmann::json body = nlohmann::json::parse(r.body);
  for (const auto& s : body["shares"]) {
    if (s["share_id"] == share_id) return s["status"];
  }
  return "";
}

}  // namespace shareplane::testing
