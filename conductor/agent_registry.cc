#include "conductor/agent_registry.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/grpc/grpc_server.h"
#include "common/pg/store.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"

namespace shareplane {
namespace {

namespace agentpb = shareplane::agent::v1;

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

bool ValidTrait(const std::string& t) {
  if (t.empty()) return false;
  for (char c : t) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

class RegistryService final : public agentpb::AgentRegistry::Service {
 public:
  RegistryService(Database& db, int interval, int agent_timeout, GrpcTls tls)
      : db_(db),
        interval_(interval),
        agent_timeout_(agent_timeout),
        tls_(std::move(tls)) {}

  // A host speaks only for itself: its certificate must name it, and no
  // host may take the conductor's name (agents trust that name).
  grpc::Status CheckIdentity(const grpc::ServerContext& ctx,
                             const std::string& hostname, const char* call) {
    if (tls_.enabled() && hostname == tls_.conductor_name) {
      return grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat("No compute host may be named ", hostname,
                       ": it is the conductor's name on the agent plane"));
    }
    if (!PeerNamed(ctx, tls_, hostname)) {
      Metrics::Global().Increment("shareplane_agent_identity_refused_total",
                                  {{"call", call}});
      SP_LOG(Warning) << call << " for host " << hostname
                      << " refused: the peer's certificate does not name it ("
                      << ctx.peer() << ")";
      return grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          absl::StrCat(call, " for host ", hostname,
                       " refused: the client's certificate does not name it"));
    }
    return grpc::Status::OK;
  }

  grpc::Status Register(grpc::ServerContext* ctx,
                        const agentpb::RegisterRequest* req,
                        agentpb::RegisterReply* reply) override {
    const agentpb::HostFacts& f = req->facts();
    if (f.hostname().empty() || f.storage_ip().empty() ||
        f.agent_endpoint().empty()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "hostname, storage_ip and agent_endpoint are required");
    }
    if (grpc::Status id = CheckIdentity(*ctx, f.hostname(), "Register");
        !id.ok()) {
      return id;
    }
    if (agent_timeout_ > 0 && f.stop_budget_seconds() >= agent_timeout_) {
      return grpc::Status(
          grpc::StatusCode::FAILED_PRECONDITION,
          absl::StrCat("Host ", f.hostname(), " may take up to ",
                       f.stop_budget_seconds(),
                       " s to stop a server ([compute] shutdown_timeout + 5 "
                       "s), but the conductor waits ",
                       agent_timeout_,
                       " s for an agent ([conductor] agent_timeout): raise "
                       "agent_timeout above it or lower shutdown_timeout"));
    }
    ComputeHost h;
    h.hostname = f.hostname();
    h.storage_ip = f.storage_ip();
    h.agent_endpoint = f.agent_endpoint();
    for (const auto& t : f.traits()) {
      if (!ValidTrait(t)) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("invalid trait '", t, "'"));
      }
      h.traits.push_back(t);
    }
    h.libvirt_version = f.libvirt_version();
    h.hypervisor_type = f.hypervisor_type();
    h.hypervisor_version = f.hypervisor_version();
    h.memory_mb = f.memory_mb();
    h.vcpus = f.vcpus();
    absl::Status s = db_.Transact([&](pqxx::work& w) -> absl::Status {
      // Manila grants NFS access to the host's address: while a rule is
      // granted to the old one, a new address would leave that rule behind
      // and give the next attach to whoever has the new one.
      auto known = LockComputeHostAddress(w, h.hostname, /*exclusive=*/true);
      if (known && *known != h.storage_ip) {
        const int users = CountHostAddressUsers(w, h.hostname, *known);
        if (users > 0) {
          return absl::FailedPreconditionError(absl::StrCat(
              "Host ", h.hostname, " is registered with storage address ",
              *known, ", to which ", users,
              " share attachments' access rules are granted; it cannot "
              "change to ",
              h.storage_ip, " while they exist (detach those shares first)"));
        }
        SP_LOG(Warning) << "Compute host " << h.hostname
                        << " changes its storage address from " << *known
                        << " to " << h.storage_ip;
      }
      UpsertComputeHost(w, h);
      return absl::OkStatus();
    });
    if (s.ok()) {
      SP_LOG(Info) << "Compute host " << h.hostname << " registered from "
                   << h.agent_endpoint << " (storage ip " << h.storage_ip
                   << ", " << h.traits.size() << " traits)";
    }
    reply->set_heartbeat_interval_seconds(interval_);
    return ToGrpc(s);
  }

  grpc::Status Heartbeat(grpc::ServerContext* ctx,
                         const agentpb::HeartbeatRequest* req,
                         agentpb::HeartbeatReply*) override {
    if (grpc::Status id = CheckIdentity(*ctx, req->hostname(), "Heartbeat");
        !id.ok()) {
      return id;
    }
    bool known = false;
    absl::Status s = db_.Transact([&](pqxx::work& w) {
      known = TouchComputeHost(w, req->hostname());
      return absl::OkStatus();
    });
    if (!s.ok()) return ToGrpc(s);
    Metrics::Global().Increment(
        "shareplane_agent_heartbeats_total",
        {{"host", req->hostname()}, {"result", known ? "ok" : "unknown_host"}});
    if (!known) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("host ", req->hostname(), " is not registered"));
    }
    return grpc::Status::OK;
  }

 private:
  Database& db_;
  int interval_;
  int agent_timeout_;
  GrpcTls tls_;
};

}  // namespace

struct AgentRegistryServer::Impl {
  RegistryService service;
  std::unique_ptr<grpc::Server> server;
  GrpcTls tls;
  Impl(Database& db, int interval, GrpcTls t, int agent_timeout)
      : service(db, interval, agent_timeout, t), tls(std::move(t)) {}
};

AgentRegistryServer::AgentRegistryServer(Database& db, int interval,
                                         GrpcTls tls, int agent_timeout)
    : impl_(std::make_unique<Impl>(db, interval, std::move(tls),
                                   agent_timeout)) {}
AgentRegistryServer::~AgentRegistryServer() { Stop(); }

absl::StatusOr<int> AgentRegistryServer::Start(const std::string& host,
                                               int port) {
  return StartGrpcServer(host, port, &impl_->service, impl_->server,
                         impl_->tls);
}

void AgentRegistryServer::Stop() { StopGrpcServer(impl_->server); }

}  // namespace shareplane
