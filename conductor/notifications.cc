#include "conductor/notifications.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/ids.h"
#include "common/pg/store.h"
#include "shareplane/task/v1/task.pb.h"

namespace shareplane {
namespace {

using ojson = nlohmann::ordered_json;

ojson NovaObject(const char* name, const char* version, ojson data) {
  return {{"nova_object.name", name},
          {"nova_object.namespace", "nova"},
          {"nova_object.version", version},
          {"nova_object.data", std::move(data)}};
}

ojson OrNull(const std::string& s) {
  return s.empty() ? ojson(nullptr) : ojson(s);
}

const char* PowerState(int state) {
  switch (state) {
    case 1:
      return "running";
    case 3:
      return "paused";
    case 4:
      return "shutdown";
    case 6:
      return "crashed";
    case 7:
      return "suspended";
    default:
      return "pending";
  }
}

ojson FlavorPayload(const std::optional<Flavor>& f) {
  ojson specs = ojson::object();
  if (f) {
    for (const auto& [k, v] : f->extra_specs) specs[k] = v;
  }
  return NovaObject("FlavorPayload", "1.4",
                    {{"flavorid", f ? f->id : ""},
                     {"name", f ? f->name : ""},
                     {"root_gb", f ? f->disk_gb : 0},
                     {"vcpus", f ? f->vcpus : 0},
                     {"ephemeral_gb", f ? f->ephemeral_gb : 0},
                     {"memory_mb", f ? f->ram_mb : 0},
                     {"disabled", false},
                     {"rxtx_factor", 1.0},
                     {"extra_specs", specs},
                     {"projects", nullptr},
                     {"swap", f ? f->swap_mb : 0},
                     {"is_public", f ? f->is_public : true},
                     {"vcpu_weight", 0},
                     {"description", f ? OrNull(f->description) : nullptr}});
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm;
  gmtime_r(&t, &tm);
  const long micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          now.time_since_epoch())
                          .count() %
                      1000000;
  return absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d.%06d",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

ojson SharesPayload(pqxx::transaction_base& w, const std::string& server_uuid) {
  ojson shares = ojson::array();
  for (const ShareMapping& m : ListShareMappings(w, server_uuid)) {
    shares.push_back(NovaObject("SharePayload", "1.0",
                                {{"share_mapping_uuid", m.uuid},
                                 {"share_id", m.share_id},
                                 {"status", m.status},
                                 {"tag", m.tag}}));
  }
  return shares;
}

ojson FaultPayload(const std::string& event_type, const std::string& fault) {
  if (fault.empty()) return nullptr;
  return NovaObject("ExceptionPayload", "1.1",
                    {{"exception", "ShareplaneWorkflowError"},
                     {"exception_message", fault},
                     {"function_name", event_type},
                     {"module_name", "shareplane.conductor"},
                     {"traceback", ""}});
}

// The fields every instance payload has (Nova's InstancePayload).
ojson InstanceData(const Server& server, const std::optional<Flavor>& flavor,
                   bool deleted, const task::v1::Task& task, ojson shares,
                   ojson fault) {
  // The request the task continues: its global one when it has one.
  const std::string& request_id = task.global_request_id().empty()
                                      ? task.request_id()
                                      : task.global_request_id();
  return {{"architecture", "x86_64"},
          {"availability_zone", server.availability_zone},
          {"block_devices", ojson::array()},
          {"created_at", server.created_at},
          {"deleted_at", deleted ? ojson(Timestamp()) : ojson(nullptr)},
          {"display_name", server.name},
          {"display_description", server.name},
          {"host", OrNull(server.host)},
          {"host_name", server.name},
          {"ip_addresses", ojson::array()},
          {"kernel_id", ""},
          {"key_name", nullptr},
          {"launched_at", nullptr},
          {"image_uuid", server.image_ref},
          {"metadata", ojson::object()},
          {"locked", false},
          {"node", OrNull(server.host)},
          {"os_type", nullptr},
          {"progress", 0},
          {"ramdisk_id", ""},
          {"reservation_id", ""},
          {"state", server.vm_state},
          {"task_state", OrNull(server.task_state)},
          {"power_state", PowerState(server.power_state)},
          {"tenant_id", server.project_id},
          {"terminated_at", deleted ? ojson(Timestamp()) : ojson(nullptr)},
          {"auto_disk_config", "MANUAL"},
          {"flavor", FlavorPayload(flavor)},
          {"updated_at", server.updated_at},
          {"user_id", server.user_id},
          {"uuid", server.uuid},
          {"request_id", request_id},
          {"action_initiator_user", task.user_id()},
          {"action_initiator_project", task.project_id()},
          {"locked_reason", nullptr},
          {"shares", std::move(shares)},
          {"fault", std::move(fault)}};
}

// The versioned object for the event: a share action, a create, or any
// other instance action.
ojson InstancePayload(const std::string& event_type,
                      const std::string& share_id, const Server& server,
                      ojson data) {
  if (!share_id.empty()) {
    data["share_id"] = share_id;
    return NovaObject("InstanceActionSharePayload", "1.0", data);
  }
  if (absl::StartsWith(event_type, "instance.create.")) {
    data["keypairs"] = ojson::array();
    data["tags"] = ojson::array();
    data["trusted_image_certificates"] = nullptr;
    data["instance_name"] = "instance-" + server.uuid.substr(0, 8);
    return NovaObject("InstanceCreatePayload", "1.12", data);
  }
  return NovaObject("InstanceActionPayload", "1.9", data);
}

}  // namespace

void Notify(pqxx::transaction_base& w, const NotificationOptions& options,
            const std::string& event_type, const task::v1::Task& task,
            const Server& held, const std::optional<Flavor>& flavor,
            const std::string& share_id, const std::string& fault) {
  if (!options.enabled) return;
  // A step repeated after a crash or redelivery notifies once.
  if (!ClaimNotificationKey(
          w, absl::StrCat(event_type, "/", held.uuid, "/", task.mapping_uuid(),
                          "/", task.request_id()))) {
    return;
  }
  // Sent in the transaction that marks the server deleted, before the mark.
  const bool deleted = event_type == "instance.delete.end";
  Server server = held;
  if (deleted) {
    server.vm_state = "deleted";
    server.task_state.clear();
    server.power_state = 0;
  }
  ojson shares = options.include_share_mapping ? SharesPayload(w, server.uuid)
                                               : ojson(nullptr);
  ojson payload = InstancePayload(
      event_type, share_id, server,
      InstanceData(server, flavor, deleted, task, std::move(shares),
                   FaultPayload(event_type, fault)));
  const bool error = absl::EndsWith(event_type, ".error");
  ojson message = {
      {"message_id", NewUuid()},  {"publisher_id", options.publisher_id},
      {"event_type", event_type}, {"priority", error ? "ERROR" : "INFO"},
      {"payload", payload},       {"timestamp", Timestamp()}};
  ojson envelope = {{"oslo.version", "2.0"}, {"oslo.message", message.dump()}};
  InsertOutbox(
      w,
      error ? "versioned_notifications.error" : "versioned_notifications.info",
      envelope.dump(), task.request_id(), options.exchange);
}

}  // namespace shareplane
