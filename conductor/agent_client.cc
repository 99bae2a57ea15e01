#include "conductor/agent_client.h"

#include <grpcpp/grpcpp.h>

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/mutex.h"
#include "common/core/retry.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"

namespace shareplane {

namespace agentpb = shareplane::agent::v1;

struct AgentClient::Impl {
  // Set by AgentClient's constructor, read-only after.
  Duration deadline;
  GrpcTls tls;
  Duration retry_budget;
  Clock* clock;
  Mutex mu;
  // Never erased: a stub (thread-safe itself) stays valid for callers that
  // use it after the lock is released.
  std::map<std::pair<std::string, std::string>,
           std::unique_ptr<agentpb::ComputeAgent::Stub>>
      stubs ABSL_GUARDED_BY(mu);

  agentpb::ComputeAgent::Stub& Stub(const ComputeHost& host)
      ABSL_LOCKS_EXCLUDED(mu) {
    MutexLock lock(&mu);
    auto& stub = stubs[{host.hostname, host.agent_endpoint}];
    if (!stub) {
      stub = agentpb::ComputeAgent::NewStub(
          MakeGrpcChannel(host.agent_endpoint, tls, host.hostname));
    }
    return *stub;
  }

  template <typename Request, typename Method,
            typename Reply = agentpb::PowerReply>
  absl::StatusOr<Reply> CallOnce(const ComputeHost& host, const Request& req,
                                 Method method, const char* name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline));
    Reply reply;
    grpc::Status s = (Stub(host).*method)(&ctx, req, &reply);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          absl::StrCat("Agent ", host.agent_endpoint, " ", name,
                                       ": ", s.error_message()));
    }
    return reply;
  }

  // `reached`: the domain states that mean the call's work is done.
  // `idempotent`: may be sent again when the agent was unreachable (gRPC
  // also says Unavailable when a connection broke after the agent got the
  // call).
  template <typename Request, typename Method>
  absl::StatusOr<agentpb::PowerReply> Call(
      const ComputeHost& host, const std::string& server_uuid,
      const Request& req, Method method, const char* name,
      std::initializer_list<const char*> reached, bool idempotent = true) {
    absl::StatusOr<agentpb::PowerReply> result;
    RetryPolicy policy;
    policy.max_attempts = 1000;  // bounded by the budget
    policy.initial_backoff = std::chrono::milliseconds(200);
    policy.max_backoff = std::chrono::seconds(2);
    policy.deadline = retry_budget;
    if (!idempotent) policy.max_attempts = 1;
    int attempt = 0;
    (void)Retry(*clock, policy, [&]() -> absl::Status {
      result = CallOnce(host, req, method, name);
      if (result.ok() ||
          result.status().code() != absl::StatusCode::kUnavailable) {
        return absl::OkStatus();  // done, or not for retrying
      }
      SP_LOG(Warning) << result.status().message() << " (attempt " << ++attempt
                      << "); calling again";
      return result.status();
    });
    if (result.ok() ||
        result.status().code() != absl::StatusCode::kDeadlineExceeded) {
      return result;
    }
    agentpb::ServerRequest ask;
    ask.set_server_uuid(server_uuid);
    auto state =
        CallOnce(host, ask, &agentpb::ComputeAgent::Stub::GetServerState,
                 "GetServerState");
    if (!state.ok()) return result;
    for (const char* s : reached) {
      if (state->domain_state() == s) {
        SP_LOG(Warning) << result.status().message() << "; the server is " << s
                        << " now, as the call asked";
        return state;
      }
    }
    return absl::DeadlineExceededError(
        absl::StrCat(result.status().message(), " (the server is ",
                     state->domain_state(), ")"));
  }
};

AgentClient::AgentClient(Duration deadline, GrpcTls tls, Duration retry_budget,
                         Clock* clock)
    : impl_(std::make_unique<Impl>()) {
  impl_->deadline = deadline;
  impl_->tls = std::move(tls);
  impl_->retry_budget = retry_budget;
  impl_->clock = clock != nullptr ? clock : RealClock::Get();
}
AgentClient::~AgentClient() = default;

absl::StatusOr<agentpb::PowerReply> AgentClient::PowerOn(
    const ComputeHost& host, const agentpb::ServerSpec& spec) {
  agentpb::PowerOnRequest req;
  *req.mutable_spec() = spec;
  return impl_->Call(host, spec.server_uuid(), req,
                     &agentpb::ComputeAgent::Stub::PowerOn, "PowerOn",
                     {"running"});
}

absl::StatusOr<agentpb::PowerReply> AgentClient::PowerOff(
    const ComputeHost& host, const std::string& server_uuid) {
  agentpb::PowerOffRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->Call(host, server_uuid, req,
                     &agentpb::ComputeAgent::Stub::PowerOff, "PowerOff",
                     {"shutoff", "absent"});
}

absl::StatusOr<agentpb::PowerReply> AgentClient::Reboot(
    const ComputeHost& host, const agentpb::ServerSpec& spec, bool hard) {
  agentpb::RebootRequest req;
  *req.mutable_spec() = spec;
  req.set_hard(hard);
  // Not idempotent (a second hard reboot is another one), and its end
  // state is its start state: neither retried nor confirmed by state.
  return impl_->Call(host, spec.server_uuid(), req,
                     &agentpb::ComputeAgent::Stub::Reboot, "Reboot", {},
                     /*idempotent=*/false);
}

absl::StatusOr<agentpb::PowerReply> AgentClient::Rebuild(
    const ComputeHost& host, const agentpb::ServerSpec& spec) {
  agentpb::RebuildRequest req;
  *req.mutable_spec() = spec;
  return impl_->Call(host, spec.server_uuid(), req,
                     &agentpb::ComputeAgent::Stub::Rebuild, "Rebuild", {},
                     /*idempotent=*/false);
}

absl::StatusOr<agentpb::PowerReply> AgentClient::StopServer(
    const ComputeHost& host, const std::string& server_uuid) {
  agentpb::ServerRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->Call(host, server_uuid, req,
                     &agentpb::ComputeAgent::Stub::StopServer, "StopServer",
                     {"shutoff", "absent"});
}

absl::StatusOr<agentpb::PowerReply> AgentClient::DeleteServer(
    const ComputeHost& host, const std::string& server_uuid) {
  agentpb::DeleteServerRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->Call(host, server_uuid, req,
                     &agentpb::ComputeAgent::Stub::DeleteServer, "DeleteServer",
                     {"absent"});
}

absl::StatusOr<agentpb::PowerReply> AgentClient::GetServerState(
    const ComputeHost& host, const std::string& server_uuid) {
  agentpb::ServerRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->Call(host, server_uuid, req,
                     &agentpb::ComputeAgent::Stub::GetServerState,
                     "GetServerState", {"running", "shutoff", "absent"});
}

absl::StatusOr<agentpb::PowerReply> AgentClient::AttachFilesystem(
    const ComputeHost& host, const std::string& server_uuid,
    const agentpb::Filesystem& fs) {
  agentpb::FilesystemRequest req;
  req.set_server_uuid(server_uuid);
  *req.mutable_filesystem() = fs;
  // The domain's state does not tell whether the device went in.
  return impl_->Call(host, server_uuid, req,
                     &agentpb::ComputeAgent::Stub::AttachFilesystem,
                     "AttachFilesystem", {});
}

absl::StatusOr<agentpb::PowerReply> AgentClient::DetachFilesystem(
    const ComputeHost& host, const std::string& server_uuid,
    const agentpb::Filesystem& fs) {
  agentpb::FilesystemRequest req;
  req.set_server_uuid(server_uuid);
  *req.mutable_filesystem() = fs;
  return impl_->Call(host, server_uuid, req,
                     &agentpb::ComputeAgent::Stub::DetachFilesystem,
                     "DetachFilesystem", {});
}

absl::StatusOr<agentpb::HostState> AgentClient::GetHostState(
    const ComputeHost& host) {
  return impl_->CallOnce<agentpb::GetHostStateRequest,
                         decltype(&agentpb::ComputeAgent::Stub::GetHostState),
                         agentpb::HostState>(
      host, agentpb::GetHostStateRequest(),
      &agentpb::ComputeAgent::Stub::GetHostState, "GetHostState");
}

absl::StatusOr<agentpb::PowerReply> AgentClient::ReleaseMounts(
    const ComputeHost& host, const std::string& server_uuid) {
  agentpb::ServerRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->CallOnce(host, req, &agentpb::ComputeAgent::Stub::ReleaseMounts,
                         "ReleaseMounts");
}

}  // namespace shareplane
