#include "api-service/faults.h"

#include "common/core/json_body.h"
#include "common/core/log.h"
#include "common/core/status.h"

namespace shareplane {
namespace {

const char* FaultName(int code) {
  switch (code) {
    case 400:
      return "badRequest";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "itemNotFound";
    case 405:
      return "badMethod";
    case 409:
      return "conflictingRequest";
    case 413:
      return "overLimit";
    case 415:
      return "badMediaType";
    case 501:
      return "notImplemented";
    case 503:
      return "serviceUnavailable";
    default:
      return "computeFault";
  }
}

}  // namespace

bool IsServerError(int http_status) {
  return http_status >= 500 && http_status != 501;
}

HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body) {
  return HttpResponse{
      status, {{"Content-Type", "application/json"}}, DumpJson(body)};
}

HttpResponse FaultResponse(int code, const std::string& message) {
  return JsonResponse(
      code, nlohmann::ordered_json{
                {FaultName(code), {{"code", code}, {"message", message}}}});
}

HttpResponse ServerErrorResponse(int code, const std::string& request_id) {
  return JsonResponse(code,
                      nlohmann::ordered_json{
                          {FaultName(code),
                           {{"code", code},
                            {"message", code == 503 ? kServiceUnavailableMessage
                                                    : kServerErrorMessage},
                            {"request_id", request_id}}}});
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

absl::Status PublicStatus(const absl::Status& status) {
  const int http = HttpStatusFor(status.code());
  if (status.ok() || !IsServerError(http)) return status;
  SP_LOG(Error) << "Answering " << absl::StatusCodeToString(status.code())
                << ": " << status;
  return absl::Status(status.code(), http == 503 ? kServiceUnavailableMessage
                                                 : kServerErrorMessage);
}

}  // namespace shareplane
