#include "api-service/faults.h"

#include "common/core/json_body.h"
#include "common/core/log.h"
#include "common/core/status.h"

namespace shareplane {

HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body) {
  return HttpResponse{
      status, {{"Content-Type", "application/json"}}, DumpJson(body)};
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
  absl::StatusCode canonical;
  switch (code) {
    case 400:
    case 406:
    case 413:
      canonical = absl::StatusCode::kInvalidArgument;
      break;
    case 401:
      canonical = absl::StatusCode::kUnauthenticated;
      break;
    case 403:
      canonical = absl::StatusCode::kPermissionDenied;
      break;
    case 404:
      canonical = absl::StatusCode::kNotFound;
      break;
    case 405:
    case 501:
      canonical = absl::StatusCode::kUnimplemented;
      break;
    case 409:
      canonical = absl::StatusCode::kFailedPrecondition;
      break;
    case 503:
      canonical = absl::StatusCode::kUnavailable;
      break;
    default:
      canonical = absl::StatusCode::kInternal;
      break;
  }
  HttpResponse resp = JsonResponse(
      code,
      nlohmann::ordered_json{{name, {{"code", code}, {"message", message}}}});
  resp.SetHeader(kStatusCodeHeader,
                 std::to_string(static_cast<int>(canonical)));
  return resp;
}

HttpResponse ServerErrorResponse(int code, const std::string& request_id,
                                 const std::string& canonical_code) {
  HttpResponse resp = FaultResponse(
      code, code == 503 ? kServiceUnavailableMessage : kServerErrorMessage);
  nlohmann::ordered_json body = nlohmann::ordered_json::parse(resp.body);
  body.begin().value()["request_id"] = request_id;
  resp.body = DumpJson(body);
  if (!canonical_code.empty())
    resp.SetHeader(kStatusCodeHeader, canonical_code);
  return resp;
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
  HttpResponse resp = FaultResponse(code, std::string(status.message()));
  resp.SetHeader(kStatusCodeHeader,
                 std::to_string(static_cast<int>(status.code())));
  return resp;
}

}  // namespace shareplane
