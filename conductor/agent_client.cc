#include "conductor/agent_client.h"

#include <grpcpp/grpcpp.h>

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "shareplane/agent/v1/agent.grpc.pb.h"

namespace shareplane {

namespace agentpb = shareplane::agent::v1;

struct AgentClient::Impl {
  Duration deadline;
  GrpcTls tls;
  std::mutex mu;
  std::map<std::string, std::unique_ptr<agentpb::ComputeAgent::Stub>> stubs;

  agentpb::ComputeAgent::Stub& Stub(const std::string& endpoint) {
    std::lock_guard<std::mutex> lock(mu);
    auto& stub = stubs[endpoint];
    if (!stub) {
      stub = agentpb::ComputeAgent::NewStub(MakeGrpcChannel(endpoint, tls));
    }
    return *stub;
  }

  template <typename Request, typename Method>
  absl::StatusOr<agentpb::PowerReply> Call(const std::string& endpoint,
                                           const Request& req, Method method,
                                           const char* name) {
    grpc::ClientContext ctx;
    ctx.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline));
    agentpb::PowerReply reply;
    grpc::Status s = (Stub(endpoint).*method)(&ctx, req, &reply);
    if (!s.ok()) {
      return absl::Status(
          static_cast<absl::StatusCode>(s.error_code()),
          absl::StrCat("Agent ", endpoint, " ", name, ": ", s.error_message()));
    }
    return reply;
  }
};

AgentClient::AgentClient(Duration deadline, GrpcTls tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->deadline = deadline;
  impl_->tls = std::move(tls);
}
AgentClient::~AgentClient() = default;

absl::StatusOr<agentpb::PowerReply> AgentClient::PowerOn(
    const std::string& endpoint, const agentpb::ServerSpec& spec) {
  agentpb::PowerOnRequest req;
  *req.mutable_spec() = spec;
  return impl_->Call(endpoint, req, &agentpb::ComputeAgent::Stub::PowerOn,
                     "PowerOn");
}

absl::StatusOr<agentpb::PowerReply> AgentClient::PowerOff(
    const std::string& endpoint, const std::string& server_uuid) {
  agentpb::PowerOffRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->Call(endpoint, req, &agentpb::ComputeAgent::Stub::PowerOff,
                     "PowerOff");
}

absl::StatusOr<agentpb::PowerReply> AgentClient::Reboot(
    const std::string& endpoint, const agentpb::ServerSpec& spec, bool hard) {
  agentpb::RebootRequest req;
  *req.mutable_spec() = spec;
  req.set_hard(hard);
  return impl_->Call(endpoint, req, &agentpb::ComputeAgent::Stub::Reboot,
                     "Reboot");
}

absl::StatusOr<agentpb::PowerReply> AgentClient::DeleteServer(
    const std::string& endpoint, const std::string& server_uuid) {
  agentpb::DeleteServerRequest req;
  req.set_server_uuid(server_uuid);
  return impl_->Call(endpoint, req, &agentpb::ComputeAgent::Stub::DeleteServer,
                     "DeleteServer");
}

}  // namespace shareplane
