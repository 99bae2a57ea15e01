// Nova-shaped JSON responses and faults:
// {"itemNotFound": {"code": 404, "message": "..."}}, and what a caller of
// either front may see of a failed call.
#ifndef SHAREPLANE_API_SERVICE_FAULTS_H_
#define SHAREPLANE_API_SERVICE_FAULTS_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "common/http/http.h"

namespace shareplane {

// Keeps the fields in the order given (Nova's sample order).
HttpResponse JsonResponse(int status, const nlohmann::ordered_json& body);
// A fault with Nova's name for the HTTP status (badRequest, itemNotFound,
// conflictingRequest, ...).
HttpResponse FaultResponse(int code, const std::string& message);

// A 5xx as the caller sees it: Nova's fixed message for the code and the
// request id, never the cause.
HttpResponse ServerErrorResponse(int code, const std::string& request_id);
inline constexpr char kServerErrorMessage[] =
    "The server has either erred or is incapable of performing the requested "
    "operation.";
inline constexpr char kServiceUnavailableMessage[] =
    "The server is currently unavailable. Please try again at a later time.";

// A 5xx whose cause the caller must not see: every one but 501 (refused
// actions keep their message).
bool IsServerError(int http_status);

// The fault for a service call's status: HttpStatusFor(code) (status.h's
// one table) and the status's message as the reason.
HttpResponse FaultFromStatus(const absl::Status& status);

// The status as a caller of the gRPC front sees it: the same code, and
// for a code REST answers with a 5xx (other than 501), Nova's fixed message
// instead of the cause, which goes to the log.
absl::Status PublicStatus(const absl::Status& status);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_FAULTS_H_
