// Versioned notifications (spec/SHARES.md section 7) in oslo.messaging's v2
// envelope, written to the outbox in the caller's transaction: none is lost,
// and none is sent for a change that was rolled back. The relay publishes
// them to the topic exchange with routing key versioned_notifications.info
// or .error.
#ifndef SHAREPLANE_CONDUCTOR_NOTIFICATIONS_H_
#define SHAREPLANE_CONDUCTOR_NOTIFICATIONS_H_

#include <optional>
#include <pqxx/pqxx>
#include <string>

namespace shareplane {

namespace task::v1 {
class Task;
}

struct Flavor;
struct Server;

struct NotificationOptions {
  bool enabled = true;
  std::string exchange = "nova";
  // Fill the instance payload's `shares` (never with export locations).
  bool include_share_mapping = false;
  std::string publisher_id = "shareplane-conductor:localhost";
};

// Queues `event_type` (e.g. "instance.share_attach.start") about the task's
// server: `server` as it is in `w` (instance.delete.end shows it deleted),
// with `flavor`, its flavor (nullopt: gone); the caller holds both, Notify
// reads neither (only the server's shares, with include_share_mapping).
// `share_id` non-empty makes it an InstanceActionSharePayload; `fault`
// non-empty makes it an error with an ExceptionPayload. No-op when
// disabled.
void Notify(pqxx::transaction_base& w, const NotificationOptions& options,
            const std::string& event_type, const task::v1::Task& task,
            const Server& server, const std::optional<Flavor>& flavor,
            const std::string& share_id, const std::string& fault);

}  // namespace shareplane

#endif  // SHAREPLANE_CONDUCTOR_NOTIFICATIONS_H_
