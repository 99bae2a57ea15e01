#include "api-service/shares_api.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api-service/api_common.h"
#include "api-service/faults.h"
#include "api-service/request_schemas.h"
#include "common/core/ids.h"
#include "common/core/json_schema.h"
#include "common/core/log.h"
#include "common/core/status.h"
#include "common/pg/store.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

absl::Status Authorize(const ApiDeps& deps, const RequestContext& ctx,
                       const std::string& op, const Server& server) {
  return deps.policy.Enforce("os_compute_api:os-server-shares:" + op, ctx,
                             server.project_id);
}

// Fields in the order of Nova's samples.
nlohmann::ordered_json MappingJson(const ShareMapping& m,
                                   const RequestContext& ctx, bool detailed) {
  nlohmann::ordered_json j;
  if (detailed && ctx.is_admin) j["uuid"] = m.uuid;
  j["share_id"] = m.share_id;
  j["status"] = m.status;
  if (detailed && ctx.is_admin) j["export_location"] = m.export_location;
  j["tag"] = m.tag;
  return j;
}

// Section 1, check 5: virtiofs and some way to share guest memory.
absl::Status CheckHostSupportsShares(pqxx::work& w, const Server& server) {
  const absl::Status unsupported = absl::FailedPreconditionError(
      "Feature not supported because either compute or instance are not "
      "configured correctly.");
  if (server.host.empty()) return unsupported;
  std::optional<ComputeHost> host = GetComputeHost(w, server.host);
  if (!host) return unsupported;
  auto has = [&](const char* trait) {
    return std::find(host->traits.begin(), host->traits.end(), trait) !=
           host->traits.end();
  };
  if (!has("COMPUTE_STORAGE_VIRTIO_FS")) return unsupported;
  if (has("COMPUTE_MEM_BACKING_FILE") || has("CUSTOM_MEM_BACKING_MEMFD")) {
    return absl::OkStatus();
  }
  std::optional<Flavor> flavor = GetFlavor(w, server.flavor_id);
  if (flavor) {
    auto it = flavor->extra_specs.find("hw:mem_page_size");
    if (it != flavor->extra_specs.end() && it->second != "small") {
      return absl::OkStatus();
    }
  }
  return unsupported;
}

void EnqueueShareTask(pqxx::transaction_base& w, const std::string& queue,
                      const RequestContext& ctx,
                      shareplane::task::v1::TaskKind kind,
                      const ShareMapping& m) {
  shareplane::task::v1::Task task;
  task.set_kind(kind);
  task.set_server_uuid(m.server_uuid);
  task.set_mapping_uuid(m.uuid);
  task.set_share_id(m.share_id);
  EnqueueTask(w, queue, ctx, task);
}

// The server's mapping of `share_id`; NotFound in the spec's words.
absl::StatusOr<ShareMapping> LoadMapping(pqxx::transaction_base& w,
                                         const Server& server,
                                         const std::string& share_id) {
  std::optional<ShareMapping> m;
  if (IsUuid(share_id)) {
    m = GetShareMappingByShare(w, server.uuid, absl::AsciiStrToLower(share_id));
  }
  if (!m) {
    return absl::NotFoundError(
        absl::StrCat("Share ", share_id, " could not be found."));
  }
  return *m;
}

}  // namespace

bool IsValidTag(const std::string& tag) {
  if (tag.empty() || tag.size() > 36) return false;
  for (char c : tag) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseAttachBody(
    const std::string& body) {
  auto j = ParseAndValidate(body, AttachShareSchema());
  if (!j.ok()) return j.status();
  const json& share = (*j)["share"];
  std::string share_id =
      absl::AsciiStrToLower(share["share_id"].get<std::string>());
  std::string tag = share.value("tag", share_id);
  return std::make_pair(share_id, tag);
}

SharesApi::SharesApi(const ApiDeps& deps) : deps_(deps) {}

HttpResponse SharesApi::List(const RequestContext& ctx, const HttpRequest& req,
                             const std::string& server_id) {
  if (auto s = NoQuery(req); !s.ok()) return FaultFromStatus(s);
  nlohmann::ordered_json shares = nlohmann::ordered_json::array();
  absl::Status s =
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
        for (const auto& m : found->second) {
          shares.push_back(MappingJson(m, ctx, false));
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, nlohmann::ordered_json{{"shares", shares}});
}

HttpResponse SharesApi::Show(const RequestContext& ctx, const HttpRequest& req,
                             const std::string& server_id,
                             const std::string& share_id) {
  if (auto s = NoQuery(req); !s.ok()) return FaultFromStatus(s);
  nlohmann::ordered_json share;
  absl::Status s =
      deps_.db.Read([&](pqxx::transaction_base& w) -> absl::Status {
        SP_ASSIGN_OR_RETURN(Server server,
                            LoadServer(w, ctx, server_id, false));
        SP_RETURN_IF_ERROR(Authorize(deps_, ctx, "show", server));
        SP_ASSIGN_OR_RETURN(ShareMapping m, LoadMapping(w, server, share_id));
        share = MappingJson(m, ctx, true);
        return absl::OkStatus();
      });
  if (!s.ok()) return FaultFromStatus(s);
  return JsonResponse(200, nlohmann::ordered_json{{"share", share}});
}

HttpResponse SharesApi::Attach(const RequestContext& ctx,
                               const HttpRequest& req,
                               const std::string& server_id) {
  auto parsed = ParseAttachBody(req.body);
  if (!parsed.ok()) return FaultFromStatus(parsed.status());
  const auto& [share_id, tag] = *parsed;

  auto check_server = [&](pqxx::work& w, bool lock) -> absl::StatusOr<Server> {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, lock));
    SP_RETURN_IF_ERROR(Authorize(deps_, ctx, "create", server));
    if (server.vm_state != "stopped") {
      return absl::FailedPreconditionError(
          absl::StrCat("Cannot 'create share' instance ", server_id,
                       " while it is in vm_state ", server.vm_state));
    }
    SP_RETURN_IF_ERROR(CheckNoTaskState("create share", server));
    SP_RETURN_IF_ERROR(CheckHostSupportsShares(w, server));
    return server;
  };
  absl::Status s = deps_.db.Transact(
      [&](pqxx::work& w) { return check_server(w, false).status(); });
  if (!s.ok()) return FaultFromStatus(s);

  // Manila decides what the caller may see: ask with the caller's token.
  ManilaAuth auth{ctx.auth_token, ctx.service_token, ctx.log_request_id()};
  auto share = deps_.manila.GetShare(share_id, auth);
  if (!share.ok()) {
    if (share.status().code() == absl::StatusCode::kNotFound) {
      return FaultResponse(
          404, absl::StrCat("Share ", share_id, " could not be found."));
    }
    SP_LOG(Warning) << "Manila share check failed: " << share.status();
    return FaultFromStatus(share.status());
  }
  if (share->status != "available") {
    return FaultResponse(
        409, absl::StrCat("Share ", share_id, " is in '", share->status,
                          "' instead of 'available' status."));
  }
  auto locations = deps_.manila.ListExportLocations(share_id, auth);
  if (!locations.ok()) return FaultFromStatus(locations.status());
  auto export_location = PickExportLocation(*locations);
  if (!export_location.ok()) {
    return FaultResponse(
        409, absl::StrCat("Share ", share_id, " export location is missing."));
  }
  const std::string proto = absl::AsciiStrToUpper(share->share_proto);
  if (proto != "NFS" && proto != "CEPHFS") {
    return FaultResponse(409,
                         absl::StrCat("Share protocol ", share->share_proto,
                                      " is not supported."));
  }

  ShareMapping m;
  m.uuid = NewUuid();
  m.share_id = share_id;
  m.tag = tag;
  m.status = "attaching";
  m.share_proto = proto;
  m.export_location = *export_location;
  s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    // Re-check under a row lock: the server may have started meanwhile.
    SP_ASSIGN_OR_RETURN(Server server, check_server(w, true));
    m.server_uuid = server.uuid;
    InsertShareMapping(w, m);
    InsertInstanceAction(w, ctx.request_id, server.uuid, "attach_share",
                         ctx.project_id, ctx.user_id);
    EnqueueShareTask(w, deps_.task_queue, ctx,
                     shareplane::task::v1::TASK_KIND_ATTACH_SHARE, m);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return FaultFromStatus(absl::AlreadyExistsError(
        absl::StrCat("Share '", share_id, "' or tag '", tag,
                     "' already associated to this server.")));
  }
  if (!s.ok()) return FaultFromStatus(s);
  SP_LOG(Info) << "Attaching share " << share_id << " to server "
               << m.server_uuid << " as mapping " << m.uuid;
  return JsonResponse(
      201, nlohmann::ordered_json{{"share", MappingJson(m, ctx, true)}});
}

HttpResponse SharesApi::Detach(const RequestContext& ctx,
                               const HttpRequest& req,
                               const std::string& server_id,
                               const std::string& share_id) {
  if (auto s = NoQuery(req); !s.ok()) return FaultFromStatus(s);
  absl::Status s = deps_.db.Transact([&](pqxx::work& w) -> absl::Status {
    SP_ASSIGN_OR_RETURN(Server server, LoadServer(w, ctx, server_id, true));
    SP_RETURN_IF_ERROR(Authorize(deps_, ctx, "delete", server));
    if (server.vm_state != "stopped" && server.vm_state != "error") {
      return absl::FailedPreconditionError(
          absl::StrCat("Cannot 'delete share' instance ", server_id,
                       " while it is in vm_state ", server.vm_state));
    }
    SP_RETURN_IF_ERROR(CheckNoTaskState("delete share", server));
    SP_ASSIGN_OR_RETURN(ShareMapping m, LoadMapping(w, server, share_id));
    // A detach already under way gets one more task, as Nova sends one
    // more deny_share: the request has its own action, which ends with an
    // event when the detach is done (the workflow is idempotent).
    if (m.status != "detaching" &&
        !UpdateShareMappingStatus(w, m.uuid, m.version, "detaching", "", "")) {
      return absl::AbortedError("share mapping changed concurrently");
    }
    InsertInstanceAction(w, ctx.request_id, server.uuid, "detach_share",
                         ctx.project_id, ctx.user_id);
    EnqueueShareTask(w, deps_.task_queue, ctx,
                     shareplane::task::v1::TASK_KIND_DETACH_SHARE, m);
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kAborted) {
    return FaultResponse(409, absl::StrCat("Share ", share_id,
                                           " changed while detaching; retry."));
  }
  if (!s.ok()) return FaultFromStatus(s);
  return HttpResponse{200, {}, ""};
}

}  // namespace shareplane
