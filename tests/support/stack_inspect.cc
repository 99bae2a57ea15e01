// What the stack's daemons hold and run, for assertions: memory and CPU,
// process ids, logs, a host's domains and mounts (as the conductor sees
// them over the agent plane); declared in stack.h.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc/grpc_server.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"
#include "tests/support/pki.h"
#include "tests/support/stack.h"

namespace shareplane::testing {

long Stack::RssKiB(const std::string& daemon) const {
  for (const Process* p : Processes()) {
    if (p->name() != daemon) continue;
    std::ifstream in("/proc/" + std::to_string(p->pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
  }
  return 0;
}

double Stack::CpuSeconds(const std::string& daemon) const {
  for (const Process* p : Processes()) {
    if (p->name() != daemon) continue;
    std::ifstream in("/proc/" + std::to_string(p->pid()) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    // Fields after the ")" that ends the command name: utime is the 12th.
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 1; i <= 13 && rest >> field; ++i) {
      if (i == 12) utime = std::stod(field);
      if (i == 13) stime = std::stod(field);
    }
    return (utime + stime) / sysconf(_SC_CLK_TCK);
  }
  return 0;
}

std::vector<pid_t> Stack::Pids() const {
  std::vector<pid_t> out;
  for (const Process* p : Processes()) {
    if (p->pid() > 0) out.push_back(p->pid());
  }
  return out;
}

std::string Stack::Logs() const {
  std::string out;
  for (const Process* p : Processes()) {
    absl::StrAppend(&out, "---- ", p->name(), "\n", p->Log());
  }
  return out;
}

std::string Stack::LogTails(size_t lines, size_t max_bytes) const {
  std::string out;
  for (const Process* p : Processes()) {
    const std::string log = p->Log();
    // Back from the end over `lines` line ends (a last line without one
    // counts too), and no further than `max_bytes`.
    size_t start = log.size();
    size_t kept = 0;
    while (start > 0 && log.size() - start < max_bytes) {
      if (log[start - 1] == '\n' && start != log.size() && ++kept == lines) {
        break;
      }
      --start;
    }
    absl::StrAppend(&out, "---- ", p->name());
    if (start > 0) {
      absl::StrAppend(&out, " (", start, " earlier bytes left out)");
    }
    absl::StrAppend(&out, "\n", absl::string_view(log).substr(start));
    if (!log.empty() && log.back() != '\n') out += '\n';
  }
  return out;
}

agent::v1::HostState Stack::HostState(const std::string& host) const {
  auto stub = agent::v1::ComputeAgent::NewStub(AgentChannel(host));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  agent::v1::HostState out;
  grpc::Status s = stub->GetHostState(&ctx, {}, &out);
  if (!s.ok()) {
    throw std::runtime_error("GetHostState of " + host + ": " +
                             s.error_message());
  }
  return out;
}

bool Stack::Insecure() const {
  return absl::StrContains(extra_config_, "grpc_insecure = true");
}

std::shared_ptr<grpc::Channel> Stack::AgentChannel(
    const std::string& host) const {
  if (Insecure()) {
    return grpc::CreateChannel(compute_endpoint(host),
                               grpc::InsecureChannelCredentials());
  }
  return MakeGrpcChannel(compute_endpoint(host),
                         TestPki::Get().Tls(kConductorName), host);
}

std::vector<std::string> Stack::MountPoints(const std::string& host) const {
  std::vector<std::string> out;
  std::error_code ec;
  const std::string base =
      host == "hv1" ? absl::StrCat("/tmp/", queue_, "-mnt")
                    : absl::StrCat("/tmp/", queue_, "-", host, "-mnt");
  for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
    out.push_back(e.path().string());
  }
  return out;
}

}  // namespace shareplane::testing
