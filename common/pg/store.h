// Typed queries over the Shareplane schema. Each function runs inside the
// caller's transaction so several can commit together (e.g. a mapping and
// its outbox task). Errors surface as libpqxx exceptions, which
// Database::Transact converts; "not found" is an empty optional.
#ifndef SHAREPLANE_COMMON_PG_STORE_H_
#define SHAREPLANE_COMMON_PG_STORE_H_

#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace shareplane {

struct Flavor {
  std::string id;
  std::string name;
  int vcpus = 1;
  int ram_mb = 512;
  int disk_gb = 0;
  std::map<std::string, std::string> extra_specs;
  int ephemeral_gb = 0;
  int swap_mb = 0;
  bool is_public = true;
  std::string description;
};

// The flavor backs guest memory with huge pages (hw:mem_page_size set and
// not "small"): shared memory for virtiofs without a backing file. The one
// rule for the API's share check and the conductor's domain spec.
bool WantsHugePages(const Flavor& flavor);

struct ComputeHost {
  std::string hostname;
  std::string storage_ip;
  std::string agent_endpoint;
  std::vector<std::string> traits;
  std::string libvirt_version;
  std::string hypervisor_type;
  std::string hypervisor_version;
  bool disabled = false;
  bool forced_down =
      false;  // os-services forced_down: down, whatever the heartbeat
  // Seconds since the last heartbeat, -1 if never.
  double heartbeat_age_seconds = -1;
  int64_t memory_mb = 0;
  int vcpus = 0;
  std::string updated_at;  // last heartbeat, ISO 8601 UTC
};

// A compute host is up while its last heartbeat is younger than
// `service_down_time` seconds: the one rule for scheduling, starts,
// os-services, os-hypervisors, host_status, the host audit and
// `shareplane-manage service list`.
bool IsHostUp(const ComputeHost& host, double service_down_time);
bool HasTrait(const ComputeHost& host, const std::string& trait);

struct Server {
  std::string uuid;
  std::string name;
  std::string project_id;
  std::string user_id;
  std::string flavor_id;
  std::string host;
  std::string vm_state;
  std::string task_state;
  int power_state = 0;
  int64_t version = 0;
  std::string image_ref;
  std::string availability_zone = "nova";
  // The zone the create request named (Nova 2.96), "" when none.
  std::string pinned_availability_zone;
  // While a move is in flight (BEYOND.md section 4) the second host it
  // holds (the destination, then the source until confirmed or reverted)
  // and the flavor it holds room for there; "" otherwise.
  std::string migration_host;
  std::string migration_flavor_id;
  std::string launched_at;  // first ACTIVE, Nova's naive format; read only
  std::string created_at;   // ISO 8601 UTC, read only
  std::string updated_at;
};

struct ShareMapping {
  std::string uuid;
  std::string server_uuid;
  std::string share_id;
  std::string tag;
  std::string status;
  std::string share_proto;
  std::string export_location;
  std::string access_id;
  std::string error_message;
  int64_t version = 0;
  std::string access_level = "rw";  // "rw" or "ro" (BEYOND.md section 3)
};

struct OutboxRow {
  int64_t id = 0;
  // "" for a task (routing_key names the durable queue), else the topic
  // exchange the message goes to (notifications).
  std::string exchange;
  std::string routing_key;
  std::string payload;
  std::string request_id;
};

// Channel the outbox NOTIFYs on when a row is inserted.
inline constexpr char kOutboxChannel[] = "shareplane_outbox";

void InsertFlavor(pqxx::transaction_base& w, const Flavor& f);
std::optional<Flavor> GetFlavor(pqxx::transaction_base& w,
                                const std::string& id);
std::vector<Flavor> ListFlavors(pqxx::transaction_base& w);
// Holds the flavor's row until the transaction ends: read, merge and write
// back its extra specs under it, so concurrent updates keep every key.
void LockFlavor(pqxx::transaction_base& w, const std::string& id);
void SetFlavorExtraSpecs(pqxx::transaction_base& w, const std::string& id,
                         const std::map<std::string, std::string>& specs);

// Creates the host or refreshes its facts and heartbeat (idempotent).
void UpsertComputeHost(pqxx::transaction_base& w, const ComputeHost& h);
// False when the host is unknown.
bool TouchComputeHost(pqxx::transaction_base& w, const std::string& hostname);
// Takes a host out of scheduling (or back); false if it is unknown.
bool SetComputeHostDisabled(pqxx::transaction_base& w,
                            const std::string& hostname, bool disabled);
std::optional<ComputeHost> GetComputeHost(pqxx::transaction_base& w,
                                          const std::string& hostname);
// The host's storage address, its row locked until commit (`exclusive`:
// FOR UPDATE, else FOR SHARE); nullopt when the host is unknown.
std::optional<std::string> LockComputeHostAddress(pqxx::transaction_base& w,
                                                  const std::string& hostname,
                                                  bool exclusive);
// What relies on `storage_ip` being the host's address: NFS attachments of
// servers on the host, and ip grants to that address (recorded before
// Manila is asked).
int CountHostAddressUsers(pqxx::transaction_base& w,
                          const std::string& hostname,
                          const std::string& storage_ip);
std::vector<ComputeHost> ListComputeHosts(pqxx::transaction_base& w);

void InsertServer(pqxx::transaction_base& w, const Server& s);
// Only servers not deleted.
std::optional<Server> GetServer(pqxx::transaction_base& w,
                                const std::string& uuid);
// Servers not deleted, newest first; all projects when `project_id` is "".
std::vector<Server> ListServers(pqxx::transaction_base& w,
                                const std::string& project_id);
// Servers not deleted that are placed on `host`.
std::vector<Server> ListServersOnHost(pqxx::transaction_base& w,
                                      const std::string& host);
// Compare-and-set of the lifecycle fields; false when the version moved.
bool UpdateServerState(pqxx::transaction_base& w, const std::string& uuid,
                       int64_t expected_version, const std::string& vm_state,
                       const std::string& task_state, int power_state);
// A rebuild accepted: task_state "rebuilding", the new image (and name,
// unless ""), if the server still has `expected_version`.
// Moves the server onto `host` ("": off any host, shelved and offloaded)
// if it still has `expected_version`.
bool PlaceServer(pqxx::transaction_base& w, const std::string& uuid,
                 int64_t expected_version, const std::string& host);
// The rule a mapping's access now comes from ("": none), without changing
// its version (a workflow that loaded it still owns it).
void SetShareMappingAccessId(pqxx::transaction_base& w, const std::string& uuid,
                             const std::string& access_id);
bool StartServerRebuild(pqxx::transaction_base& w, const std::string& uuid,
                        int64_t expected_version, const std::string& image_ref,
                        const std::string& name);
// Marks the server deleted (it disappears from Get/List).
bool MarkServerDeleted(pqxx::transaction_base& w, const std::string& uuid,
                       int64_t expected_version);
// Picks the up, enabled host with the most free RAM that has every trait in
// `required` and room for `flavor`, and locks its row until commit so
// concurrent placements see each other. `up_seconds`: heartbeat age limit.
// Hosts in `exclude` are not considered; with `only`, no other host is.
std::optional<std::string> PickHost(
    pqxx::transaction_base& w, const Flavor& flavor,
    const std::vector<std::string>& required, int up_seconds, double ram_ratio,
    double cpu_ratio, const std::vector<std::string>& exclude = {},
    const std::string& only = "");

struct ActionEvent {
  std::string event;
  std::string start_time;
  std::string finish_time;
  std::string result;
  std::string details;
  std::string host;  // the server's host when the event was recorded
};
struct InstanceAction {
  std::string request_id;
  std::string server_uuid;
  std::string action;
  std::string project_id;
  std::string user_id;
  std::string message;
  std::string start_time;
  std::string updated_at;
  std::vector<ActionEvent> events;
};
// Newest first; events are filled only by GetInstanceAction.
std::vector<InstanceAction> ListInstanceActions(pqxx::transaction_base& w,
                                                const std::string& server_uuid);
std::optional<InstanceAction> GetInstanceAction(pqxx::transaction_base& w,
                                                const std::string& server_uuid,
                                                const std::string& request_id);

void InsertShareMapping(pqxx::transaction_base& w, const ShareMapping& m);
std::optional<ShareMapping> GetShareMapping(pqxx::transaction_base& w,
                                            const std::string& uuid);
std::optional<ShareMapping> GetShareMappingByShare(
    pqxx::transaction_base& w, const std::string& server_uuid,
    const std::string& share_id);
std::vector<ShareMapping> ListShareMappings(pqxx::transaction_base& w,
                                            const std::string& server_uuid);
// The server's project and its mappings in one round trip (the list route's
// hot path); nullopt when the server does not exist or is deleted.
std::optional<std::pair<std::string, std::vector<ShareMapping>>>
GetServerProjectAndMappings(pqxx::transaction_base& w,
                            const std::string& server_uuid);
// Compare-and-set: applies only if the row still has `expected_version`.
// Returns false when it lost the race (or the row is gone); never creates.
bool UpdateShareMappingStatus(pqxx::transaction_base& w,
                              const std::string& uuid, int64_t expected_version,
                              const std::string& status,
                              const std::string& access_id,
                              const std::string& error_message);

// Deletes the mapping if it still has `expected_version`; false otherwise.
bool DeleteShareMapping(pqxx::transaction_base& w, const std::string& uuid,
                        int64_t expected_version);
// Other mappings of `share_id` that rely on the same access rule as
// `mapping_uuid`: those on servers of `host` when `same_host_only` (NFS
// rules are per host), else all of them (CephFS rules are per deployment):
// how many, how many are active (in use by a running guest), and the
// highest access level ("rw" above "ro") they use, "" when there are none:
// the level the shared rule must keep.
struct RuleUsers {
  int count = 0;
  int active = 0;
  std::string level;
};
// `mapping_uuid` may be "" (a mapping not recorded yet).
RuleUsers OtherRuleUsers(pqxx::transaction_base& w, const std::string& share_id,
                         const std::string& mapping_uuid,
                         const std::string& host, bool same_host_only);
// Serializes access-rule changes of one share across conductors until the
// transaction ends.
void LockShareAccess(pqxx::transaction_base& w, const std::string& share_id);

// Reconciliation: mappings in attaching/detaching and servers with a
// task_state whose row has not changed for `stale_seconds`.
std::vector<ShareMapping> ListStaleShareMappings(pqxx::transaction_base& w,
                                                 int stale_seconds);
std::vector<Server> ListStaleServers(pqxx::transaction_base& w,
                                     int stale_seconds);
// Restarts the staleness clock without bumping `version`, so a workflow
// still in flight keeps its compare-and-set.
void TouchShareMapping(pqxx::transaction_base& w, const std::string& uuid);
void TouchServer(pqxx::transaction_base& w, const std::string& uuid);
// The newest instance action's request id for the server, "" if none.
std::string LatestRequestId(pqxx::transaction_base& w,
                            const std::string& server_uuid);

// Records an instance action; returns its id.
int64_t InsertInstanceAction(pqxx::transaction_base& w,
                             const std::string& request_id,
                             const std::string& server_uuid,
                             const std::string& action,
                             const std::string& project_id,
                             const std::string& user_id);
// Appends a finished event to the action of (server, request_id), if any.
void RecordActionEvent(pqxx::transaction_base& w,
                       const std::string& server_uuid,
                       const std::string& request_id, const std::string& event,
                       const std::string& result, const std::string& details);
// The same, unless the action already has an event of that name (a task
// that is redelivered, or that finds its work done or overtaken).
void RecordActionEventOnce(pqxx::transaction_base& w,
                           const std::string& server_uuid,
                           const std::string& request_id,
                           const std::string& event, const std::string& result,
                           const std::string& details);

// Inserts an outbox row and NOTIFYs the relay (delivered at commit).
void InsertOutbox(pqxx::transaction_base& w, const std::string& routing_key,
                  const std::string& payload, const std::string& request_id,
                  const std::string& exchange = "");
// Locks up to `limit` unsent rows in id order, under a transaction-level
// advisory lock that makes relays (every API and conductor process runs
// one) take turns, so rows are published in commit order.
std::vector<OutboxRow> ClaimUnsentOutbox(pqxx::transaction_base& w, int limit);
void MarkOutboxSent(pqxx::transaction_base& w, const std::vector<int64_t>& ids);
// Deletes rows sent more than an hour ago (kept that long for audit);
// returns how many. The relay calls it once a minute, not per batch.
// An access rule asked of Manila (see migration 005).
struct AccessGrant {
  std::string share_id;
  std::string access_type;
  std::string access_to;
  std::string project_id;
  std::string user_id;
};
void RecordAccessGrant(pqxx::transaction_base& w, const AccessGrant& g);
void ForgetAccessGrant(pqxx::transaction_base& w, const std::string& share_id,
                       const std::string& access_type,
                       const std::string& access_to);
// Grants recorded more than `older_than_seconds` ago that no mapping needs:
// NFS ("ip") ones with no mapping of the share on a host with that storage
// ip, CephFS ("cephx") ones with no CephFS mapping of the share at all.
std::vector<AccessGrant> ListUnusedAccessGrants(pqxx::transaction_base& w,
                                                int older_than_seconds);
// Sets a host's storage address (shareplane-manage host set-ip).
void SetComputeHostStorageIp(pqxx::transaction_base& w,
                             const std::string& hostname,
                             const std::string& storage_ip);
// The NFS grants that are `hostname`'s and not to its current address:
// those to `old_ip`, and those on shares its servers map to an address no
// host has (what an interrupted move left).
std::vector<AccessGrant> ListHostIpGrants(pqxx::transaction_base& w,
                                          const std::string& hostname,
                                          const std::string& old_ip);
// Records `access_id` on the host's NFS mappings of the share.
void SetHostShareAccessId(pqxx::transaction_base& w,
                          const std::string& hostname,
                          const std::string& share_id,
                          const std::string& access_id);
// Forgets `grant` unless a mapping needs it now; true if it was forgotten.
bool ForgetAccessGrantIfUnused(pqxx::transaction_base& w,
                               const AccessGrant& grant);

// Moves (store_moves.cc): cold migration, resize, evacuation.
struct ServerMigration {
  int64_t id = 0;
  std::string uuid;
  std::string server_uuid;
  std::string migration_type;  // "migration", "resize" or "evacuation"
  std::string source_compute;
  std::string dest_compute;
  std::string old_flavor_id;
  std::string new_flavor_id;
  std::string status;       // Nova's: pre-migrating, migrating, finished, ...
  bool stop_after = false;  // evacuation: left stopped (2.95)
  std::string project_id;
  std::string user_id;
  std::string created_at;  // ISO 8601 UTC, read only
  std::string updated_at;
};
// Inserts `m` (uuid set by the caller); its id.
int64_t InsertMigration(pqxx::transaction_base& w, const ServerMigration& m);
// The server's newest migration whose status is one of `statuses`.
std::optional<ServerMigration> GetServerMigration(
    pqxx::transaction_base& w, const std::string& server_uuid,
    const std::vector<std::string>& statuses);
// Compare-and-set of a migration's status; false when it is not `from`.
bool SetMigrationStatus(pqxx::transaction_base& w, int64_t id,
                        const std::string& from, const std::string& to);
// Servers whose confirm has not moved for `stale_seconds` (its task was
// lost: a confirm has no task_state for ListStaleServers to find); each
// migration is touched, so it is found again only after as long.
std::vector<std::string> TouchStaleConfirms(pqxx::transaction_base& w,
                                            int stale_seconds);
// Every migration, newest first (os-migrations), at most `limit`; of one
// server when `server_uuid` is not "".
std::vector<ServerMigration> ListMigrations(pqxx::transaction_base& w,
                                            const std::string& server_uuid,
                                            int limit);
// Where a server is and what it holds, set at once with its lifecycle
// fields (compare-and-set on the version, one version step).
struct ServerPlacement {
  std::string host;
  std::string migration_host;
  std::string flavor_id;
  std::string migration_flavor_id;
};
bool UpdateServerMove(pqxx::transaction_base& w, const std::string& uuid,
                      int64_t expected_version, const std::string& vm_state,
                      const std::string& task_state, int power_state,
                      const ServerPlacement& placement);
// Evacuations of the server from `source` that are done become completed
// (its guest there is gone); how many.
int CompleteEvacuations(pqxx::transaction_base& w,
                        const std::string& server_uuid,
                        const std::string& source);
// Sets or clears a host's forced_down mark; false when there is no host.
bool SetComputeHostForcedDown(pqxx::transaction_base& w,
                              const std::string& hostname, bool forced_down);

// Notification keys older than a day go too.
int PurgeSentOutbox(pqxx::transaction_base& w);
// Records that the notification `key` is emitted; false when it already was
// (the step is being repeated after a crash or a redelivery).
bool ClaimNotificationKey(pqxx::transaction_base& w, const std::string& key);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_PG_STORE_H_
