#include "api-service/grpc_front.h"

#include <grpcpp/grpcpp.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api-service/faults.h"
#include "common/grpc/grpc_server.h"
#include "common/core/json_body.h"
#include "shareplane/api/v1/compute.grpc.pb.h"

namespace shareplane {
namespace {

namespace apipb = shareplane::api::v1;
using json = nlohmann::json;

std::string S(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

void ToProto(const json& j, apipb::ShareAttachment* out) {
  out->set_share_id(S(j, "share_id"));
  out->set_status(S(j, "status"));
  out->set_tag(S(j, "tag"));
  out->set_uuid(S(j, "uuid"));
  out->set_export_location(S(j, "export_location"));
}

void ToProto(const json& j, apipb::Server* out) {
  out->set_id(S(j, "id"));
  out->set_name(S(j, "name"));
  out->set_status(S(j, "status"));
  out->set_vm_state(S(j, "OS-EXT-STS:vm_state"));
  out->set_task_state(S(j, "OS-EXT-STS:task_state"));
  out->set_power_state(j.value("OS-EXT-STS:power_state", 0));
  out->set_tenant_id(S(j, "tenant_id"));
  out->set_user_id(S(j, "user_id"));
  if (j.contains("flavor"))
    out->set_flavor_name(S(j["flavor"], "original_name"));
  out->set_host(S(j, "OS-EXT-SRV-ATTR:host"));
  out->set_created(S(j, "created"));
  out->set_updated(S(j, "updated"));
}

class ComputeService final : public apipb::Compute::Service {
 public:
  explicit ComputeService(ComputeApi& compute) : compute_(compute) {}

  grpc::Status ListServerShares(grpc::ServerContext* ctx,
                                const apipb::ListServerSharesRequest* req,
                                apipb::ListServerSharesResponse* out) override {
    json body;
    grpc::Status s =
        Call(ctx, "GET", Servers(req->server_id()) + "/shares", "", &body);
    if (s.ok()) {
      for (const auto& j : body["shares"]) ToProto(j, out->add_shares());
    }
    return s;
  }
  grpc::Status AttachShare(grpc::ServerContext* ctx,
                           const apipb::AttachShareRequest* req,
                           apipb::ShareAttachment* out) override {
    json share = {{"share_id", req->share_id()}};
    if (!req->tag().empty()) share["tag"] = req->tag();
    json body;
    grpc::Status s = Call(ctx, "POST", Servers(req->server_id()) + "/shares",
                          DumpJson(json{{"share", share}}), &body);
    if (s.ok()) ToProto(body["share"], out);
    return s;
  }
  grpc::Status GetServerShare(grpc::ServerContext* ctx,
                              const apipb::GetServerShareRequest* req,
                              apipb::ShareAttachment* out) override {
    json body;
    grpc::Status s =
        Call(ctx, "GET",
             Servers(req->server_id()) + "/shares/" + PathPart(req->share_id()),
             "", &body);
    if (s.ok()) ToProto(body["share"], out);
    return s;
  }
  grpc::Status DetachShare(grpc::ServerContext* ctx,
                           const apipb::DetachShareRequest* req,
                           apipb::DetachShareResponse*) override {
    return Call(
        ctx, "DELETE",
        Servers(req->server_id()) + "/shares/" + PathPart(req->share_id()), "",
        nullptr);
  }
  grpc::Status CreateServer(grpc::ServerContext* ctx,
                            const apipb::CreateServerRequest* req,
                            apipb::CreateServerResponse* out) override {
    json server = {{"name", req->name()}, {"flavorRef", req->flavor_ref()}};
    if (!req->image_ref().empty()) server["imageRef"] = req->image_ref();
    if (!req->availability_zone().empty()) {
      server["availability_zone"] = req->availability_zone();
    }
    json body;
    grpc::Status s = Call(ctx, "POST", "/v2.1/servers",
                          DumpJson(json{{"server", server}}), &body);
    if (s.ok()) {
      out->set_id(S(body["server"], "id"));
      out->set_admin_pass(S(body["server"], "adminPass"));
    }
    return s;
  }
  grpc::Status GetServer(grpc::ServerContext* ctx,
                         const apipb::GetServerRequest* req,
                         apipb::Server* out) override {
    json body;
    grpc::Status s = Call(ctx, "GET", Servers(req->server_id()), "", &body);
    if (s.ok()) ToProto(body["server"], out);
    return s;
  }
  grpc::Status ListServers(grpc::ServerContext* ctx,
                           const apipb::ListServersRequest* req,
                           apipb::ListServersResponse* out) override {
    json body;
    grpc::Status s = Call(ctx, "GET",
                          std::string("/v2.1/servers/detail") +
                              (req->all_tenants() ? "?all_tenants=1" : ""),
                          "", &body);
    if (s.ok()) {
      for (const auto& j : body["servers"]) ToProto(j, out->add_servers());
    }
    return s;
  }
  grpc::Status DeleteServer(grpc::ServerContext* ctx,
                            const apipb::DeleteServerRequest* req,
                            apipb::Empty*) override {
    return Call(ctx, "DELETE", Servers(req->server_id()), "", nullptr);
  }
  grpc::Status StartServer(grpc::ServerContext* ctx,
                           const apipb::ServerActionRequest* req,
                           apipb::Empty*) override {
    return Call(ctx, "POST", Servers(req->server_id()) + "/action",
                R"({"os-start": null})", nullptr);
  }
  grpc::Status StopServer(grpc::ServerContext* ctx,
                          const apipb::ServerActionRequest* req,
                          apipb::Empty*) override {
    return Call(ctx, "POST", Servers(req->server_id()) + "/action",
                R"({"os-stop": null})", nullptr);
  }
  grpc::Status RebootServer(grpc::ServerContext* ctx,
                            const apipb::RebootServerRequest* req,
                            apipb::Empty*) override {
    return Call(
        ctx, "POST", Servers(req->server_id()) + "/action",
        DumpJson(json{{"reboot", {{"type", req->hard() ? "HARD" : "SOFT"}}}}),
        nullptr);
  }

 private:
  // Ids travel in the path: anything that could change the route becomes
  // an id that matches nothing (so the answer is a plain 404).
  static std::string PathPart(const std::string& id) {
    return id.empty() || id.find_first_of("/?#% ") != std::string::npos ? "-"
                                                                        : id;
  }
  static std::string Servers(const std::string& id) {
    return "/v2.1/servers/" + PathPart(id);
  }

  // Runs the REST resource with the caller's metadata as headers.
  grpc::Status Call(grpc::ServerContext* ctx, const std::string& method,
                    const std::string& target, const std::string& body,
                    json* out) {
    HttpRequest req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.body = body;
    for (const auto& [k, v] : ctx->client_metadata()) {
      std::string key(k.data(), k.size());
      if (key == "x-auth-token" || key == "x-service-token" ||
          key == "x-auth-user" || key == "x-auth-project-id" ||
          key == "x-roles" || key == "x-openstack-request-id") {
        req.headers[key] = std::string(v.data(), v.size());
      }
    }
    req.headers["openstack-api-version"] = "compute 2.97";
    req.remote_addr = ctx->peer();
    HttpResponse resp = compute_.HandleInternal(req);
    ctx->AddInitialMetadata("x-openstack-request-id",
                            resp.Header("x-openstack-request-id"));
    if (resp.status >= 400) {
      int code;
      if (!absl::SimpleAtoi(resp.Header(kStatusCodeHeader), &code)) {
        code = resp.status == 401
                   ? static_cast<int>(absl::StatusCode::kUnauthenticated)
               : resp.status == 503
                   ? static_cast<int>(absl::StatusCode::kUnavailable)
                   : static_cast<int>(absl::StatusCode::kInternal);
      }
      json fault = ParseJson(resp.body).value_or(json());
      std::string message = resp.body;
      if (fault.is_object() && !fault.empty() && fault.begin()->is_object()) {
        message = S(*fault.begin(), "message");
      }
      return grpc::Status(static_cast<grpc::StatusCode>(code), message);
    }
    if (out != nullptr && !resp.body.empty()) {
      *out = ParseJson(resp.body).value_or(json());
    }
    return grpc::Status::OK;
  }

  ComputeApi& compute_;
};

}  // namespace

struct GrpcFront::Impl {
  ComputeService service;
  std::unique_ptr<grpc::Server> server;
  explicit Impl(ComputeApi& c) : service(c) {}
};

GrpcFront::GrpcFront(ComputeApi& compute)
    : impl_(std::make_unique<Impl>(compute)) {}
GrpcFront::~GrpcFront() { Stop(); }

absl::StatusOr<int> GrpcFront::Start(const std::string& host, int port) {
  return StartGrpcServer(host, port, &impl_->service, impl_->server);
}

void GrpcFront::Stop() { StopGrpcServer(impl_->server); }

}  // namespace shareplane
