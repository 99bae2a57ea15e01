// The servers resource of the compute API: list, detail, show, create
// (scheduled onto an up host with room and the flavor's required traits),
// delete and the actions os-start, os-stop and reboot, with Nova's 409s,
// plus the actions refused while shares are attached. Thread-safe.
#ifndef SHAREPLANE_API_SERVICE_SERVERS_API_H_
#define SHAREPLANE_API_SERVICE_SERVERS_API_H_

#include <string>

#include "api-service/api_common.h"

namespace shareplane {

class ServersApi {
 public:
  explicit ServersApi(const ApiDeps& deps);

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
  const ApiDeps& deps_;
};

// Nova's status for a vm_state/task_state pair (ACTIVE, SHUTOFF, BUILD,
// REBOOT, HARD_REBOOT, ERROR, DELETED).
std::string ServerStatus(const std::string& vm_state,
                         const std::string& task_state);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SERVERS_API_H_
