// The REST resource of the share attachment routes (microversion 2.97):
// reads the request, calls ShareService and renders Nova's bodies. Thread-
// safe.
#ifndef SHAREPLANE_API_SERVICE_SHARES_API_H_
#define SHAREPLANE_API_SERVICE_SHARES_API_H_

#include <string>
#include <utility>

#include "api-service/request_context.h"
#include "api-service/share_service.h"
#include "common/http/http.h"

namespace shareplane {

class SharesApi {
 public:
  explicit SharesApi(ShareService& service);

  HttpResponse List(const RequestContext& ctx, const HttpRequest& req,
                    const std::string& server_id);
  HttpResponse Attach(const RequestContext& ctx, const HttpRequest& req,
                      const std::string& server_id);
  HttpResponse Show(const RequestContext& ctx, const HttpRequest& req,
                    const std::string& server_id, const std::string& share_id);
  HttpResponse Detach(const RequestContext& ctx, const HttpRequest& req,
                      const std::string& server_id,
                      const std::string& share_id);

 private:
  ShareService& service_;
};

// Schema validation of the attach body; returns the request (no server id
// yet) with the tag defaulted to the share id and the access level to
// "rw". InvalidArgument with Nova's message otherwise.
absl::StatusOr<AttachShareRequest> ParseAttachBody(const std::string& body);
bool IsValidTag(const std::string& tag);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SHARES_API_H_
