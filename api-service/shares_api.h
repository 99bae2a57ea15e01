// The share attachment routes of the compute API (microversion 2.97):
// list, attach, show and detach, with the checks of spec/SHARES.md section 1
// in its order. Thread-safe; each call blocks on PostgreSQL and Manila.
#ifndef SHAREPLANE_API_SERVICE_SHARES_API_H_
#define SHAREPLANE_API_SERVICE_SHARES_API_H_

#include <string>

#include "api-service/api_common.h"
#include "api-service/request_context.h"
#include "common/pg/db.h"
#include "common/http/http.h"
#include "common/openstack/manila_client.h"

namespace shareplane {

class SharesApi {
 public:
  explicit SharesApi(const ApiDeps& deps);

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
  const ApiDeps& deps_;
};

// Schema validation of the attach body; returns (share_id, tag) with the tag
// defaulted to the share id. InvalidArgument with Nova's message otherwise.
absl::StatusOr<std::pair<std::string, std::string>> ParseAttachBody(
    const std::string& body);
bool IsValidTag(const std::string& tag);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SHARES_API_H_
