#include "api-service/grpc_front.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "api-service/faults.h"
#include "api-service/server_views.h"
#include "common/core/log.h"
#include "common/core/metrics.h"
#include "common/core/status.h"
#include "common/grpc/grpc_server.h"
#include "shareplane/api/v1/compute.grpc.pb.h"

namespace shareplane {
namespace {

ServerActionRequest ActionOf(const std::string& id, const std::string& action,
                             bool hard) {
  ServerActionRequest r;
  r.server_id = id;
  r.action = action;
  r.hard = hard;
  return r;
}

namespace apipb = shareplane::api::v1;

void ToProto(const ShareMapping& m, const RequestContext& ctx,
             apipb::ShareAttachment* out) {
  out->set_share_id(m.share_id);
  out->set_status(m.status);
  out->set_tag(m.tag);
  out->set_access_level(m.access_level);
  if (ctx.is_admin) {
    out->set_uuid(m.uuid);
    out->set_export_location(m.export_location);
  }
}

class ComputeService final : public apipb::Compute::Service {
 public:
  ComputeService(Authenticator& auth, const ApiDeps& deps, ShareService& shares,
                 ServerService& servers)
      : auth_(auth), deps_(deps), shares_(shares), servers_(servers) {}

  grpc::Status ListServerShares(grpc::ServerContext* ctx,
                                const apipb::ListServerSharesRequest* req,
                                apipb::ListServerSharesResponse* out) override {
    return Serve(ctx, "ListServerShares", [&](const RequestContext& rc) {
      SP_ASSIGN_OR_RETURN(auto mappings, shares_.List(rc, req->server_id()));
      for (const ShareMapping& m : mappings) {
        // As REST's list: no uuid or export location, even for admins.
        apipb::ShareAttachment* a = out->add_shares();
        a->set_share_id(m.share_id);
        a->set_status(m.status);
        a->set_tag(m.tag);
        a->set_access_level(m.access_level);
      }
      return absl::OkStatus();
    });
  }
  grpc::Status AttachShare(grpc::ServerContext* ctx,
                           const apipb::AttachShareRequest* req,
                           apipb::ShareAttachment* out) override {
    return Serve(ctx, "AttachShare", [&](const RequestContext& rc) {
      SP_ASSIGN_OR_RETURN(
          ShareMapping m,
          shares_.Attach(rc, {req->server_id(), req->share_id(), req->tag(),
                              req->access_level()}));
      ToProto(m, rc, out);
      return absl::OkStatus();
    });
  }
  grpc::Status GetServerShare(grpc::ServerContext* ctx,
                              const apipb::GetServerShareRequest* req,
                              apipb::ShareAttachment* out) override {
    return Serve(ctx, "GetServerShare", [&](const RequestContext& rc) {
      SP_ASSIGN_OR_RETURN(ShareMapping m,
                          shares_.Show(rc, req->server_id(), req->share_id()));
      ToProto(m, rc, out);
      return absl::OkStatus();
    });
  }
  grpc::Status DetachShare(grpc::ServerContext* ctx,
                           const apipb::DetachShareRequest* req,
                           apipb::DetachShareResponse*) override {
    return Serve(ctx, "DetachShare", [&](const RequestContext& rc) {
      return shares_.Detach(rc, req->server_id(), req->share_id());
    });
  }
  grpc::Status CreateServer(grpc::ServerContext* ctx,
                            const apipb::CreateServerRequest* req,
                            apipb::CreateServerResponse* out) override {
    return Serve(ctx, "CreateServer", [&](const RequestContext& rc) {
      SP_ASSIGN_OR_RETURN(
          CreatedServer created,
          servers_.Create(rc, {req->name(), req->flavor_ref(), req->image_ref(),
                               req->availability_zone()}));
      out->set_id(created.server.uuid);
      out->set_admin_pass(created.admin_pass);
      return absl::OkStatus();
    });
  }
  grpc::Status GetServer(grpc::ServerContext* ctx,
                         const apipb::GetServerRequest* req,
                         apipb::Server* out) override {
    return Serve(ctx, "GetServer", [&](const RequestContext& rc) {
      SP_ASSIGN_OR_RETURN(ServerRecord r, servers_.Show(rc, req->server_id()));
      ServerToProto(r, rc, out);
      return absl::OkStatus();
    });
  }
  grpc::Status ListServers(grpc::ServerContext* ctx,
                           const apipb::ListServersRequest* req,
                           apipb::ListServersResponse* out) override {
    return Serve(ctx, "ListServers", [&](const RequestContext& rc) {
      SP_ASSIGN_OR_RETURN(auto records,
                          servers_.List(rc, {true, req->all_tenants()}));
      for (const ServerRecord& r : records)
        ServerToProto(r, rc, out->add_servers());
      return absl::OkStatus();
    });
  }
  grpc::Status DeleteServer(grpc::ServerContext* ctx,
                            const apipb::DeleteServerRequest* req,
                            apipb::Empty*) override {
    return Serve(ctx, "DeleteServer", [&](const RequestContext& rc) {
      return servers_.Delete(rc, req->server_id());
    });
  }
  grpc::Status StartServer(grpc::ServerContext* ctx,
                           const apipb::ServerActionRequest* req,
                           apipb::Empty*) override {
    return Act(ctx, "StartServer",
               ActionOf(req->server_id(), "os-start", false));
  }
  grpc::Status StopServer(grpc::ServerContext* ctx,
                          const apipb::ServerActionRequest* req,
                          apipb::Empty*) override {
    return Act(ctx, "StopServer", ActionOf(req->server_id(), "os-stop", false));
  }
  grpc::Status RebootServer(grpc::ServerContext* ctx,
                            const apipb::RebootServerRequest* req,
                            apipb::Empty*) override {
    return Act(ctx, "RebootServer",
               ActionOf(req->server_id(), "reboot", req->hard()));
  }

 private:
  void ServerToProto(const ServerRecord& r, const RequestContext& ctx,
                     apipb::Server* out) const {
    const Server& s = r.server;
    out->set_id(s.uuid);
    out->set_name(s.name);
    out->set_status(ServerStatus(s.vm_state, s.task_state));
    out->set_vm_state(s.vm_state);
    out->set_task_state(s.task_state);
    out->set_power_state(s.power_state);
    out->set_tenant_id(s.project_id);
    out->set_user_id(s.user_id);
    out->set_flavor_name(r.flavor ? r.flavor->name : s.flavor_id);
    if (ShowsExtendedAttributes(deps_, ctx, s)) out->set_host(s.host);
    out->set_created(s.created_at);
    out->set_updated(s.updated_at);
  }

  grpc::Status Act(grpc::ServerContext* ctx, const char* rpc,
                   const ServerActionRequest& req) {
    return Serve(ctx, rpc, [&](const RequestContext& rc) {
      return servers_.Act(rc, req);
    });
  }

  static std::string Metadata(const grpc::ServerContext* ctx,
                              const std::string& key) {
    auto it = ctx->client_metadata().find(key);
    return it == ctx->client_metadata().end()
               ? ""
               : std::string(it->second.data(), it->second.size());
  }

  // One call: a request context from the caller's metadata (request id,
  // credentials), the service call, the request id back in the initial
  // metadata, the same metrics and log line as REST's.
  template <typename Call>
  grpc::Status Serve(grpc::ServerContext* ctx, const char* rpc, Call&& call) {
    const auto start = std::chrono::steady_clock::now();
    RequestContext rc =
        NewRequestContext(Metadata(ctx, "x-openstack-request-id"));
    ScopedRequestId log_id(rc.log_request_id());
    rc.version = kMaxApiVersion;
    Credentials credentials;
    credentials.auth_token = Metadata(ctx, "x-auth-token");
    credentials.service_token = Metadata(ctx, "x-service-token");
    credentials.user = Metadata(ctx, "x-auth-user");
    credentials.project_id = Metadata(ctx, "x-auth-project-id");
    if (ctx->client_metadata().count("x-roles")) {
      credentials.roles = Metadata(ctx, "x-roles");
    }
    absl::Status s = auth_.Authenticate(credentials, rc);
    if (s.ok()) {
      try {
        s = call(static_cast<const RequestContext&>(rc));
      } catch (const std::exception& e) {
        s = absl::InternalError(std::string("unhandled exception: ") +
                                e.what());
      }
    }
    s = PublicStatus(s);
    ctx->AddInitialMetadata("x-openstack-request-id", rc.request_id);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const MetricLabels labels = {{"rpc", rpc},
                                 {"code", absl::StatusCodeToString(s.code())}};
    Metrics::Global().Increment("shareplane_api_grpc_requests_total", labels);
    Metrics::Global().Observe("shareplane_api_grpc_request_duration_seconds",
                              labels, seconds);
    SP_LOG(Info) << ctx->peer() << " gRPC " << rpc
                 << " code: " << absl::StatusCodeToString(s.code())
                 << " time: " << seconds;
    return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                        std::string(s.message()));
  }

  Authenticator& auth_;
  const ApiDeps& deps_;
  ShareService& shares_;
  ServerService& servers_;
};

}  // namespace

struct GrpcFront::Impl {
  ComputeService service;
  std::unique_ptr<grpc::Server> server;
  Impl(Authenticator& a, const ApiDeps& d, ShareService& sh, ServerService& se)
      : service(a, d, sh, se) {}
};

GrpcFront::GrpcFront(Authenticator& auth, const ApiDeps& deps,
                     ShareService& shares, ServerService& servers)
    : impl_(std::make_unique<Impl>(auth, deps, shares, servers)) {}
GrpcFront::~GrpcFront() { Stop(); }

absl::StatusOr<int> GrpcFront::Start(const std::string& host, int port) {
  return StartGrpcServer(host, port, &impl_->service, impl_->server);
}

void GrpcFront::Stop() { StopGrpcServer(impl_->server); }

}  // namespace shareplane
