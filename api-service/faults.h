// Nova-shaped JSON responses and faults:
// {"itemNotFound": {"code": 404, "message": "..."}}.
#ifndef SHAREPLANE_API_SERVICE_FAULTS_H_
#define SHAREPLANE_API_SERVICE_FAULTS_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "common/http.h"

namespace shareplane {

// Keeps the fields in the order given (Nova's sample order).
HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body);
HttpResponse FaultResponse(int code, const std::string& message);

// Faults also carry the canonical code in this header, for the gRPC front
// (which maps 409 to FAILED_PRECONDITION or ALREADY_EXISTS by it). The REST
// front removes it before answering.
inline constexpr char kStatusCodeHeader[] = "X-Shareplane-Status-Code";
// Uses the status's message as the fault message and HttpStatusFor(code).
HttpResponse FaultFromStatus(const absl::Status& status);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_FAULTS_H_
