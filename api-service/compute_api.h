// The compute REST front door: version documents, microversion
// negotiation, request ids, authentication and routing to the resources.
// Thread-safe.
#ifndef SHAREPLANE_API_SERVICE_COMPUTE_API_H_
#define SHAREPLANE_API_SERVICE_COMPUTE_API_H_

#include "api-service/shares_api.h"
#include "common/http.h"

namespace shareplane {

class ComputeApi {
 public:
  explicit ComputeApi(SharesApi& shares);
  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Route(const HttpRequest& request, RequestContext& ctx);
  SharesApi& shares_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_COMPUTE_API_H_
