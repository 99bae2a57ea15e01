// Status helpers shared by every process: propagation macros and the one
// table that maps canonical codes to HTTP statuses.
#ifndef SHAREPLANE_COMMON_CORE_STATUS_H_
#define SHAREPLANE_COMMON_CORE_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define SP_CONCAT_INNER(a, b) a##b
#define SP_CONCAT(a, b) SP_CONCAT_INNER(a, b)

#define SP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status sp_status_ = (expr);      \
    if (!sp_status_.ok()) return sp_status_; \
  } while (0)

#define SP_ASSIGN_OR_RETURN(lhs, expr) \
  SP_ASSIGN_OR_RETURN_IMPL(SP_CONCAT(sp_statusor_, __LINE__), lhs, expr)
#define SP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(*tmp)

namespace shareplane {

// Canonical code -> HTTP status (InvalidArgument 400, NotFound 404, ...).
int HttpStatusFor(absl::StatusCode code);

// Prefixes context to a status message, keeping its code.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// True for codes that mean "try again later" (Unavailable, DeadlineExceeded,
// Aborted).
bool IsTransient(const absl::Status& status);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_STATUS_H_
