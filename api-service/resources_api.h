// The other compute API resources Shareplane owns: flavors and their extra
// specs, os-services, os-hypervisors and instance actions. Thread-safe.
#ifndef SHAREPLANE_API_SERVICE_RESOURCES_API_H_
#define SHAREPLANE_API_SERVICE_RESOURCES_API_H_

#include <nlohmann/json.hpp>
#include <string>

#include "api-service/api_common.h"
#include "common/pg/store.h"

namespace shareplane {

// One os-services entry: the host's compute service, numbered `id`.
nlohmann::ordered_json ServiceView(const ComputeHost& h, int id,
                                   int service_down_time);

class ResourcesApi {
 public:
  explicit ResourcesApi(const ApiDeps& deps);

  HttpResponse ListFlavors(const RequestContext& ctx, const HttpRequest& req,
                           bool detail);
  HttpResponse ShowFlavor(const RequestContext& ctx, const HttpRequest& req,
                          const std::string& id);
  HttpResponse CreateFlavor(const RequestContext& ctx, const HttpRequest& req);
  HttpResponse ListExtraSpecs(const RequestContext& ctx, const HttpRequest& req,
                              const std::string& id);
  HttpResponse SetExtraSpecs(const RequestContext& ctx, const HttpRequest& req,
                             const std::string& id);
  // GET, PUT ({"<key>": "<value>"}) and DELETE of one extra spec; the
  // router sends no other method.
  HttpResponse ExtraSpec(const RequestContext& ctx, const HttpRequest& req,
                         const std::string& id, const std::string& key);
  HttpResponse ListServices(const RequestContext& ctx, const HttpRequest& req);
  HttpResponse ListHypervisors(const RequestContext& ctx,
                               const HttpRequest& req);
  // services_api.cc: PUT /os-services/{id} (2.53: status, forced_down)
  // and PUT /os-services/force-down (2.11..2.52); GET /os-migrations.
  HttpResponse UpdateService(const RequestContext& ctx, const HttpRequest& req,
                             const std::string& id);
  HttpResponse ListMigrations(const RequestContext& ctx,
                              const HttpRequest& req);
  HttpResponse ListActions(const RequestContext& ctx, const HttpRequest& req,
                           const std::string& server_id);
  HttpResponse ShowAction(const RequestContext& ctx, const HttpRequest& req,
                          const std::string& server_id,
                          const std::string& request_id);

 private:
  const ApiDeps& deps_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_RESOURCES_API_H_
