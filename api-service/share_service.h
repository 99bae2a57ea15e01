// The share attachments of a server (microversion 2.97), as typed calls:
// validation, policy, the store and the outbox, with the checks of
// spec/SHARES.md section 1 in its order. The REST resource (shares_api.h)
// and the gRPC front (grpc_front.h) are adapters over it; both show the
// status it returns (its code through status.h's one table, its message as
// the reason). Thread-safe; each call blocks on PostgreSQL, Attach on
// Manila too.
#ifndef SHAREPLANE_API_SERVICE_SHARE_SERVICE_H_
#define SHAREPLANE_API_SERVICE_SHARE_SERVICE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api-service/api_common.h"
#include "api-service/request_context.h"
#include "common/pg/store.h"

namespace shareplane {

struct AttachShareRequest {
  std::string server_id;
  std::string share_id;
  std::string tag;  // empty: the share id
  // "rw" (empty: the default) or "ro", our extension (BEYOND.md section 3).
  std::string access_level;
};

// The request as the schema of POST /servers/{id}/shares sees it (the one
// place its rules live), with Nova's messages; on success the share id is
// lower-cased and the tag defaulted.
absl::StatusOr<AttachShareRequest> ValidateAttachShare(AttachShareRequest req);

class ShareService {
 public:
  explicit ShareService(const ApiDeps& deps);

  absl::StatusOr<std::vector<ShareMapping>> List(const RequestContext& ctx,
                                                 const std::string& server_id);
  absl::StatusOr<ShareMapping> Show(const RequestContext& ctx,
                                    const std::string& server_id,
                                    const std::string& share_id);
  // Records the mapping "attaching" and queues the attach; validates `req`.
  absl::StatusOr<ShareMapping> Attach(const RequestContext& ctx,
                                      const AttachShareRequest& req);
  // Marks the mapping "detaching" and queues the detach.
  absl::Status Detach(const RequestContext& ctx, const std::string& server_id,
                      const std::string& share_id);

 private:
  absl::StatusOr<Server> CheckAttachable(pqxx::work& w,
                                         const RequestContext& ctx,
                                         const std::string& server_id,
                                         bool lock);
  // The share's rule on the server's host would have to become read-write
  // while a running guest uses it read-only, and Manila cannot change a
  // rule in place (no 2.88): FailedPrecondition.
  absl::Status CheckLevelChange(pqxx::work& w, const Server& server,
                                const ShareMapping& m, bool manila_updates);
  // Manila has its access-level update (microversion 2.88).
  bool ManilaUpdatesLevels(const RequestContext& ctx);
  // Manila's share as the caller sees it, available, with an export
  // location and a protocol we mount: the mapping to record.
  absl::StatusOr<ShareMapping> CheckShare(const RequestContext& ctx,
                                          const AttachShareRequest& req);

  const ApiDeps& deps_;
};

// Section 1, check 5: the server's host has virtiofs and some way to share
// guest memory (a memory backing file, memfd, or the flavor's huge pages).
absl::Status CheckHostSupportsShares(pqxx::transaction_base& w,
                                     const Server& server);
// Whether `server`'s vm_state takes share attach and detach ("create
// share"/"delete share" for the message): stopped always (and error for a
// detach); active when `live` and the host hot-plugs
// (CUSTOM_VIRTIOFS_HOTPLUG, BEYOND.md section 2). Nova's 409 otherwise.
absl::Status CheckShareableState(pqxx::transaction_base& w,
                                 const Server& server, const std::string& op,
                                 bool live);

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_SHARE_SERVICE_H_
