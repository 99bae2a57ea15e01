// The REST resource of servers: reads the request (schemas, query), calls
// ServerService and renders Nova's bodies (server_views.h). Thread-safe.
#ifndef SHAREPLANE_API_SERVICE_SERVERS_API_H_
#define SHAREPLANE_API_SERVICE_SERVERS_API_H_

#include <string>

#include "api-service/api_common.h"
#include "api-service/server_service.h"

namespace shareplane {

class ServersApi {
 public:
  ServersApi(const ApiDeps& deps, ServerService& service);

  HttpResponse List(const RequestContext& ctx, const HttpRequest& req,
                    bool detail);
  HttpResponse Show(const RequestContext& ctx, const HttpRequest& req,
                    const std::string& id);
  HttpResponse Create(const RequestContext& ctx, const HttpRequest& req);
  HttpResponse Delete(const RequestContext& ctx, const HttpRequest& req,
                      const std::string& id);
  HttpResponse Action(const RequestContext& ctx, const HttpRequest& req,
                      const std::string& id);

 private:
  const ApiDeps& deps_;  // for the views' policy-gated fields
  ServerService& service_;
};

// The body of POST /servers as the service takes it; InvalidArgument with
// Nova's message for what the schema or the networks rule refuse.
absl::StatusOr<CreateServerRequest> ParseCreateServerBody(
    const std::string& body);
// The body of POST /servers/{id}/action: the action's key and, for reboot,
// whether it is HARD.
absl::StatusOr<ServerActionRequest> ParseActionBody(const std::string& id,
                                                    const std::string& body);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SERVERS_API_H_
