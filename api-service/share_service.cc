#include "api-service/share_service.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api-service/request_schemas.h"
#include "common/core/ids.h"
#include "common/core/json_schema.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

namespace taskpb = shareplane::task::v1;

absl::Status Authorize(const ApiDeps& deps, const RequestContext& ctx,
                       const std::string& op, const Server& server) {
  return deps.policy.Enforce("os_compute_api:os-server-shares:" + op, ctx,
                             server.project_id);
}

void EnqueueShareTask(pqxx::transaction_base& w, const std::string& queue,
                      const RequestContext& ctx, taskpb::TaskKind kind,
                      const ShareMapping& m) {
  taskpb::Task task;
  task.set_kind(kind);
  task.set_server_uuid(m.server_uuid);
  task.set_mapping_uuid(m.uuid);
  task.set_share_id(m.share_id);
  EnqueueTask(w, queue, ctx, task);
}

absl::Status ShareNotFound(const std::string& share_id) {
  return absl::NotFoundError(
      absl::StrCat("Share ", share_id, " could not be found."));
}

// The server's mapping of `share_id`; NotFound in the spec's words.
absl::StatusOr<ShareMapping> LoadMapping(pqxx::transaction_base& w,
                                         const Server& server,
                                         const std::string& share_id) {
  std::optional<ShareMapping> m;
  if (IsUuid(share_id)) {
    m = GetShareMappingByShare(w, server.uuid, absl::AsciiStrToLower(share_id));
  }
  if (!m) return ShareNotFound(share_id);
  return *m;
}

}  // namespace

absl::StatusOr<AttachShareRequest> ValidateAttachShare(AttachShareRequest req) {
  nlohmann::json share = {{"share_id", req.share_id}};
  if (!req.tag.empty()) share["tag"] = req.tag;
  if (!req.access_level.empty()) share["access_level"] = req.access_level;
  SP_RETURN_IF_ERROR(
      ValidateJson(nlohmann::json{{"share", share}}, AttachShareSchema()));
  req.share_id = absl::AsciiStrToLower(req.share_id);
  if (req.tag.empty()) req.tag = req.share_id;
  if (req.access_level.empty()) req.access_level = "rw";
  return req;
}

absl::Status CheckHostSupportsShares(pqxx::transaction_base& w,
                                     const Server& server) {
  const absl::Status unsupported = absl::FailedPreconditionError(
      "Feature not supported because either compute or instance are not "
      "configured correctly.");
  // Off any host: its unshelve picks one with the traits.
  if (server.vm_state == "shelved_offloaded") return absl::OkStatus();
  if (server.host.empty()) return unsupported;
  std::optional<ComputeHost> host = GetComputeHost(w, server.host);
  if (!host || !HasTrait(*host, "COMPUTE_STORAGE_VIRTIO_FS")) {
    return unsupported;
  }
  if (HasTrait(*host, "COMPUTE_MEM_BACKING_FILE") ||
      HasTrait(*host, "CUSTOM_MEM_BACKING_MEMFD")) {
    return absl::OkStatus();
  }
  std::optional<Flavor> flavor = GetFlavor(w, server.flavor_id);
  if (flavor && WantsHugePages(*flavor)) return absl::OkStatus();
  return unsupported;
}

absl::Status CheckShareableState(pqxx::transaction_base& w,
                                 const Server& server, const std::string& op,
                                 bool live) {
  // Shelved servers take and lose shares as stopped ones do.
  if (server.vm_state == "stopped" || server.vm_state == "shelved" ||
      server.vm_state == "shelved_offloaded") {
    return absl::OkStatus();
  }
  if (server.vm_state == "error" && op == "delete share") {
    return absl::OkStatus();
  }
  if (live && server.vm_state == "active" && !server.host.empty()) {
    std::optional<ComputeHost> host = GetComputeHost(w, server.host);
    if (host && HasTrait(*host, "CUSTOM_VIRTIOFS_HOTPLUG")) {
      return absl::OkStatus();
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("Cannot '", op, "' instance ", server.uuid,
                   " while it is in vm_state ", server.vm_state));
}

ShareService::ShareService(const ApiDeps& deps) : deps_(deps) {}

absl::StatusOr<std::vector<ShareMapping>> ShareService::List(
    const RequestContext& ctx, const std::string& server_id) {
  std::vector<ShareMapping> out;
  SP_RETURN_IF_ERROR(
      deps_.db.Read([&](pqxx::transaction_base& w) -> absl::Status {
        // One round trip: the server's project (visibility, policy) and
        // its mappings; same answers as LoadServer + ListShareMappings.
        auto found = IsUuid(server_id)
                         ? GetServerProjectAndMappings(
                               w, absl::AsciiStrToLower(server_id))
                         : std::nullopt;
        if (!found || (!ctx.is_admin && found->first != ctx.project_id)) {
          return InstanceNotFound(server_id);
        }
        SP_RETURN_IF_ERROR(deps_.policy.Enforce(
            "os_compute_api:os-server-shares:index", ctx, found->first));
        out = std::move(found->second);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<ShareMapping> ShareService::Show(const RequestContext& ctx,
                                                const std::string& server_id,
                                                const std::string& share_id) {
  ShareMapping out;
  SP_RETURN_IF_ERROR(
      deps_.db.Read([&](pqxx::transaction_base& w) -> absl::Status {
        SP_ASSIGN_OR_RETURN(Server server,
                            LoadServer(w, ctx, server_id, false));
        SP_RETURN_IF_ERROR(Authorize(deps_, ctx, "show", server));
        SP_ASSIGN_OR_RETURN(out, LoadMapping(w, server, share_id));
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<Server> ShareService::CheckAttachable(
    pqxx::work& w, const RequestContext& ctx, const std::string& server_id,
    bool lock) {
  SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, lock));
  SP_RETURN_IF_ERROR(Authorize(deps_, ctx, "create", server));
  SP_RETURN_IF_ERROR(
      CheckShareableState(w, server, "create share", deps_.live_share_attach));
  SP_RETURN_IF_ERROR(CheckNoTaskState("create share", server));
  SP_RETURN_IF_ERROR(CheckHostSupportsShares(w, server));
  return server;
}

bool ShareService::ManilaUpdatesLevels(const RequestContext& ctx) {
  auto minor = deps_.manila.MaxMicroversionMinor(
      {ctx.auth_token, ctx.service_token, ctx.log_request_id()});
  return minor.ok() && *minor >= 88;
}

absl::Status ShareService::CheckLevelChange(pqxx::work& w, const Server& server,
                                            const ShareMapping& m,
                                            bool manila_updates) {
  if (manila_updates || m.access_level != "rw") return absl::OkStatus();
  const RuleUsers users =
      OtherRuleUsers(w, m.share_id, "", server.host, m.share_proto != "CEPHFS");
  if (users.active == 0 || users.level != "ro") return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("Share ", m.share_id,
                   " is attached read-only to a running server on this host; a "
                   "read-write attachment needs Manila's access-level update "
                   "(microversion 2.88), which this Manila does not have"));
}

absl::StatusOr<ShareMapping> ShareService::CheckShare(
    const RequestContext& ctx, const AttachShareRequest& req) {
  const std::string& share_id = req.share_id;
  // Manila decides what the caller may see: ask with the caller's token.
  ManilaAuth auth{ctx.auth_token, ctx.service_token, ctx.log_request_id()};
  auto share = deps_.manila.GetShare(share_id, auth);
  if (!share.ok()) {
    if (share.status().code() == absl::StatusCode::kNotFound) {
      return ShareNotFound(share_id);
    }
    SP_LOG(Warning) << "Manila share check failed: " << share.status();
    return share.status();
  }
  if (share->status != "available") {
    return absl::FailedPreconditionError(
        absl::StrCat("Share ", share_id, " is in '", share->status,
                     "' instead of 'available' status."));
  }
  SP_ASSIGN_OR_RETURN(auto locations,
                      deps_.manila.ListExportLocations(share_id, auth));
  auto export_location = PickExportLocation(locations);
  if (!export_location.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Share ", share_id, " export location is missing."));
  }
  const std::string proto = absl::AsciiStrToUpper(share->share_proto);
  if (proto != "NFS" && proto != "CEPHFS") {
    return absl::FailedPreconditionError(absl::StrCat(
        "Share protocol ", share->share_proto, " is not supported."));
  }
  ShareMapping m;
  m.uuid = NewUuid();
  m.share_id = share_id;
  m.tag = req.tag;
  m.status = "attaching";
  m.share_proto = proto;
  m.export_location = *export_location;
  m.access_level = req.access_level;
  return m;
}

absl::StatusOr<ShareMapping> ShareService::Attach(
    const RequestContext& ctx, const AttachShareRequest& request) {
  SP_ASSIGN_OR_RETURN(const AttachShareRequest req,
                      ValidateAttachShare(request));
  SP_RETURN_IF_ERROR(deps_.db.Transact([&](pqxx::work& w) {
    return CheckAttachable(w, ctx, req.server_id, false).status();
  }));
  // No transaction is open while Manila answers.
  SP_ASSIGN_OR_RETURN(ShareMapping m, CheckShare(ctx, req));
  // Only a read-write attachment can need a rule raised; asked once.
  const bool manila_updates =
      req.access_level == "ro" || ManilaUpdatesLevels(ctx);
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    // Re-check under a row lock: the server may have started meanwhile.
    SP_ASSIGN_OR_RETURN(Server server,
                        CheckAttachable(w, ctx, req.server_id, true));
    m.server_uuid = server.uuid;
    SP_RETURN_IF_ERROR(CheckLevelChange(w, server, m, manila_updates));
    InsertShareMapping(w, m);
    InsertInstanceAction(w, ctx.request_id, server.uuid, "attach_share",
                         ctx.project_id, ctx.user_id);
    EnqueueShareTask(w, deps_.task_queue, ctx, taskpb::TASK_KIND_ATTACH_SHARE,
                     m);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("Share '", req.share_id, "' or tag '", req.tag,
                     "' already associated to this server."));
  }
  SP_RETURN_IF_ERROR(s);
  SP_LOG(Info) << "Attaching share " << req.share_id << " to server "
               << m.server_uuid << " as mapping " << m.uuid;
  return m;
}

absl::Status ShareService::Detach(const RequestContext& ctx,
                                  const std::string& server_id,
                                  const std::string& share_id) {
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, true));
    SP_RETURN_IF_ERROR(Authorize(deps_, ctx, "delete", server));
    SP_RETURN_IF_ERROR(CheckShareableState(w, server, "delete share",
                                           deps_.live_share_attach));
    SP_RETURN_IF_ERROR(CheckNoTaskState("delete share", server));
    SP_ASSIGN_OR_RETURN(ShareMapping m, LoadMapping(w, server, share_id));
    // On a running server an attach may be about to hot-plug the device:
    // a detach racing it would unplug nothing, then revoke under the guest.
    if (server.vm_state == "active" && m.status == "attaching") {
      return absl::FailedPreconditionError(
          absl::StrCat("Cannot 'delete share' instance ", server.uuid,
                       " while share ", m.share_id, " is attaching"));
    }
    // A detach already under way gets one more task, as Nova sends one
    // more deny_share: the request has its own action, which ends with an
    // event when the detach is done (the workflow is idempotent).
    if (m.status != "detaching" &&
        !UpdateShareMappingStatus(w, m.uuid, m.version, "detaching", "", "")) {
      return absl::AbortedError("share mapping changed concurrently");
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid, "detach_share",
                         ctx.project_id, ctx.user_id);
    EnqueueShareTask(w, deps_.task_queue, ctx, taskpb::TASK_KIND_DETACH_SHARE,
                     m);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAborted) {
    return absl::AbortedError(
        absl::StrCat("Share ", share_id, " changed while detaching; retry."));
  }
  return s;
}

}  // namespace shareplane
