// The compute REST front door: version documents, microversion
// negotiation, request ids, authentication and routing to the resources.
// Thread-safe.
#ifndef SHAREPLANE_API_SERVICE_COMPUTE_API_H_
#define SHAREPLANE_API_SERVICE_COMPUTE_API_H_

#include <vector>

#include "api-service/authenticator.h"
#include "api-service/resources_api.h"
#include "api-service/servers_api.h"
#include "api-service/shares_api.h"
#include "common/http/http.h"

namespace shareplane {

class ComputeApi {
 public:
  ComputeApi(Authenticator& auth, SharesApi& shares, ServersApi& servers,
             ResourcesApi& resources);
  // Serves one REST request.
  HttpResponse Handle(const HttpRequest& request);
  // The answer to a request the HTTP layer could not read (HttpServer's
  // ErrorFormatter): a Nova fault with its own request id, logged.
  HttpResponse FramingError(int status, const std::string& message);

 private:
  HttpResponse Route(const HttpRequest& request, RequestContext& ctx);
  HttpResponse RouteServers(const HttpRequest& req, RequestContext& ctx,
                            const std::vector<std::string>& parts);
  Authenticator& auth_;
  SharesApi& shares_;
  ServersApi& servers_;
  ResourcesApi& resources_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_COMPUTE_API_H_
