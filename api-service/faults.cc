#include "api-service/faults.h"

#include "common/log.h"
#include "common/status.h"

namespace shareplane {

HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body) {
  return HttpResponse{
      status, {{"Content-Type", "application/json"}}, body.dump()};
}

HttpResponse FaultResponse(int code, const std::string& message) {
  const char* name;
  switch (code) {
    case 400:
      name = "badRequest";
      break;
    case 401:
      name = "unauthorized";
      break;
    case 403:
      name = "forbidden";
      break;
    case 404:
      name = "itemNotFound";
      break;
    case 405:
      name = "badMethod";
      break;
    case 409:
      name = "conflictingRequest";
      break;
    case 413:
      name = "overLimit";
      break;
    case 415:
      name = "badMediaType";
      break;
    case 501:
      name = "notImplemented";
      break;
    case 503:
      name = "serviceUnavailable";
      break;
    default:
      name = "computeFault";
      break;
  }
  return JsonResponse(
      code,
      nlohmann::ordered_json{{name, {{"code", code}, {"message", message}}}});
}

HttpResponse FaultFromStatus(const absl::Status& status) {
  int code = HttpStatusFor(status.code());
  if (code == 500) {
    SP_LOG(Error) << "Unexpected error: " << status;
    return FaultResponse(500,
                         "Unexpected API Error. Please report this at "
                         "your Shareplane operator and attach the "
                         "request id.");
  }
  return FaultResponse(code, std::string(status.message()));
}

}  // namespace shareplane
