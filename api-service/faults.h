// Nova-shaped JSON responses and faults:
// {"itemNotFound": {"code": 404, "message": "..."}}.
#ifndef SHAREPLANE_API_SERVICE_FAULTS_H_
#define SHAREPLANE_API_SERVICE_FAULTS_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "common/http/http.h"

namespace shareplane {

// Keeps the fields in the order given (Nova's sample order).
HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body);
HttpResponse FaultResponse(int code, const std::string& message);

// Faults also carry the canonical code in this header, for the gRPC front
// (which maps 409 to FAILED_PRECONDITION or ALREADY_EXISTS by it). The REST
// front removes it before answering.
inline constexpr char kStatusCodeHeader[] = "X-Shareplane-Status-Code";
// A 5xx as the caller sees it: Nova's fixed message for the code and the
// request id, never the cause. `canonical_code` (kStatusCodeHeader's value,
// may be empty) is kept for the gRPC front.
HttpResponse ServerErrorResponse(int code, const std::string& request_id,
                                 const std::string& canonical_code);
inline constexpr char kServerErrorMessage[] =
    "The server has either erred or is incapable of performing the requested "
    "operation.";
inline constexpr char kServiceUnavailableMessage[] =
    "The server is currently unavailable. Please try again at a later time.";

// Uses the status's message as the fault message and HttpStatusFor(code).
HttpResponse FaultFromStatus(const absl::Status& status);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_FAULTS_H_
