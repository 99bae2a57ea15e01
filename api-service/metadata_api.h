// The metadata API guests query for their shares (spec/SHARES.md section
// 6), on its own listener ([api] metadata_listen_port, default 8775):
// /openstack, /openstack/<version>/meta_data.json. Callers are identified
// the way Nova's metadata proxy does it: X-Instance-ID signed with
// X-Instance-ID-Signature (hex HMAC-SHA256 under [api]
// metadata_proxy_shared_secret), optionally X-Tenant-ID.
#ifndef SHAREPLANE_API_SERVICE_METADATA_API_H_
#define SHAREPLANE_API_SERVICE_METADATA_API_H_

#include <string>

#include "common/http/http.h"
#include "common/pg/db.h"

namespace shareplane {

// Hex HMAC-SHA256 of `instance_id` under `secret`: what the proxy sends.
std::string MetadataSignature(const std::string& secret,
                              const std::string& instance_id);

class MetadataApi {
 public:
  MetadataApi(Database& db, std::string shared_secret);
  HttpResponse Handle(const HttpRequest& request);
  // The answer to a request the HTTP layer could not read.
  HttpResponse FramingError(int status, const std::string& message);

 private:
  Database& db_;
  std::string secret_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_METADATA_API_H_
