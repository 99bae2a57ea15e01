// The Shareplane daemons as real processes over the shared test PostgreSQL
// and RabbitMQ, each on free loopback ports, with a private database and task
// queue so tests can run side by side.
#ifndef SHAREPLANE_TESTS_SUPPORT_STACK_H_
#define SHAREPLANE_TESTS_SUPPORT_STACK_H_

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "shareplane/agent/v1/agent.pb.h"
#include "tests/support/test_support.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace shareplane::testing {

// The name in the conductor's certificate (TestPki), as in production.
inline constexpr char kConductorName[] = "shareplane-conductor";

// The agent plane is mutual TLS (tests/support/pki.h): the conductor has
// kConductorName's certificate, each host its own; with "grpc_insecure =
// true" in `extra_config`, plaintext.
class Stack {
 public:
  // `extra_config` is appended to the daemons' INI file.
  explicit Stack(std::string extra_config = "");
  ~Stack();

  // Each starts its daemon and waits until it serves. The emulator applies
  // rules in `apply_delay_ms`; `flags` are added to its command line.
  void StartEmulator(int apply_delay_ms = 30,
                     const std::vector<std::string>& flags = {});
  // API instance `index` (0 serves api_url(); others their own ports, over
  // the same database and queue).
  void StartApi(int index = 0);
  // SIGKILL of API instance `index`, as a power cut.
  void KillApi(int index);
  // With `crash_at`, the conductor kills itself at that test point; with
  // `pause_at`, it stops there until Resume (common/core/test_point.h).
  void StartConductor(const std::string& crash_at = "",
                      const std::string& pause_at = "");
  bool ConductorRunning() { return conductor_ && conductor_->running(); }
  std::string ConductorLog() const {
    return conductor_ ? conductor_->Log() : "";
  }
  // Whether a paused daemon reached test point `point` (waits up to 20 s),
  // and lets it go on.
  bool WaitPaused(const std::string& point);
  void Resume(const std::string& point);
  // Registers `host` ("hv<N>", storage ip 192.0.2.<9+N>) through the
  // conductor; each host has its own ports and mount base.
  // With `pause_at`, the agent stops at those test points until Resume.
  // `flags` go after the others (--section.option=value overrides).
  void StartCompute(const std::string& host = "hv1",
                    const std::string& pause_at = "",
                    const std::vector<std::string>& flags = {});
  void StopConductor() { conductor_.reset(); }
  void KillConductor();
  // Stops the compute agent (SIGTERM, waits); StartCompute starts it again
  // on the same port.
  void StopCompute(const std::string& host = "hv1");
  // SIGKILL of the agent; SIGSTOP and SIGCONT (an agent that stalls).
  void KillCompute(const std::string& host = "hv1");
  void SuspendCompute(const std::string& host);
  void ResumeCompute(const std::string& host);

  Database& db() { return database_.db(); }
  const std::string& database_url() const { return database_.url(); }
  // Replaces the extra configuration; affects daemons started afterwards.
  void SetExtraConfig(std::string extra);
  std::string api_url(int index = 0) const;
  std::string manila_url() const;
  std::string compute_endpoint(const std::string& host = "hv1") const;
  std::string grpc_endpoint() const;
  // The conductor's agent registry (gRPC).
  std::string conductor_endpoint() const;
  // /healthcheck and /metrics of the conductor and the compute agent (the
  // API serves them on api_url()).
  std::string conductor_ops_url() const;
  std::string compute_ops_url(const std::string& host = "hv1") const;
  // The metadata API (secret "test-metadata-secret").
  std::string metadata_url() const;

  // Seeds a flavor and a server of project "demo" (user "alice") on
  // `host`, in vm_state `state`; returns the server id. Registers `host`
  // ("hv<N>") directly in the database with virtiofs+memfd traits and
  // storage ip 192.0.2.<19+N> if it is unknown.
  std::string CreateServer(const std::string& host = "hv1",
                           const std::string& state = "stopped",
                           const std::string& project = "demo");
  // Creates a server through the API (flavor m1.tiny, made if missing) and
  // waits until it is ACTIVE, then SHUTOFF when `stopped`; returns its id.
  // Throws when it does not get there.
  std::string BootServer(bool stopped = false);
  // Attaches `share` to the stopped `server` through the API and waits
  // until it is inactive; throws when it does not get there.
  void AttachShare(const std::string& server, const std::string& share);
  // The server's status as GET /servers/{id} shows it; "" when absent.
  std::string ServerStatus(const std::string& id);
  // Creates a share in the emulator for project "demo"; returns its id.
  std::string CreateShare(const std::string& proto = "NFS");
  // Writes a mapping of `share` to `server` in `status` as a crash between
  // writing it and its task would leave it: no task, unchanged for an hour,
  // so the reconciler queues its task. Returns the mapping's uuid.
  std::string SeedLostMapping(const std::string& server,
                              const std::string& share,
                              const std::string& status);
  // Manila call as an admin with a service token at microversion 2.82, the
  // way an operator inspects what the conductor did.
  HttpResponse ManilaAdmin(const std::string& method, const std::string& path,
                           const std::string& body = "");
  // The share's access rules, unredacted (`access_list`).
  nlohmann::json ManilaRules(const std::string& share_id);
  // Resource locks on a share or rule (`resource_locks`).
  nlohmann::json ManilaLocks(const std::string& resource_id);

  // Compute API call as `token` at microversion 2.97.
  HttpResponse Api(const std::string& method, const std::string& path,
                   const std::string& body = "",
                   const std::string& token = "alice:demo");
  // The same through API instance `index`.
  HttpResponse ApiAt(int index, const std::string& method,
                     const std::string& path, const std::string& body = "",
                     const std::string& token = "alice:demo");
  // Status of the share on the server as GET .../shares shows it; "" if
  // absent.
  std::string ShareStatus(const std::string& server_id,
                          const std::string& share_id);
  // What the host's agent runs and mounts (GetHostState); throws when the
  // agent does not answer within 5 s.
  agent::v1::HostState HostState(const std::string& host = "hv1") const;
  // A channel to `host`'s agent as the conductor (its certificate).
  std::shared_ptr<grpc::Channel> AgentChannel(
      const std::string& host = "hv1") const;
  // The conductor's command line (certificate flags included).
  std::vector<std::string> ConductorArgv() const;
  // Entries (mount points) under the compute agent's mount base.
  std::vector<std::string> MountPoints(const std::string& host = "hv1") const;
  // Resident memory of a daemon ("api", "conductor", ...) in KiB, 0 if
  // not running.
  long RssKiB(const std::string& daemon) const;
  // User + system CPU seconds a daemon has used so far.
  double CpuSeconds(const std::string& daemon) const;
  // Logs of every daemon, for failure messages.
  std::string Logs() const;
  // The last `lines` lines (at most `max_bytes`) of each daemon's log, as
  // the failure listener prints them (tests/support/failure_logs.h).
  std::string LogTails(size_t lines = 200, size_t max_bytes = 64 << 10) const;
  // The process ids of the running daemons.
  std::vector<pid_t> Pids() const;
  // The daemons' INI file.
  const std::string& config_path() const { return config_path_; }
  // The conductor's task queue.
  const std::string& task_queue() const { return queue_; }

 private:
  bool Insecure() const;  // "grpc_insecure = true" in the extra config
  struct Daemon {
    int port = 0, grpc_port = 0, metadata_port = 0, ops_port = 0;
    std::unique_ptr<Process> process;
  };
  std::string Config() const;
  Daemon& ApiInstance(int index);
  Daemon& ComputeHostDaemon(const std::string& host);
  const Daemon* FindCompute(const std::string& host) const;
  std::vector<const Process*> Processes() const;
  ScopedDatabase database_;
  std::string queue_;
  int api_port_, conductor_port_, compute_port_, manila_port_, grpc_port_,
      metadata_port_, conductor_ops_port_, compute_ops_port_;
  std::string extra_config_;
  std::string config_path_;
  std::string pause_dir_;
  std::map<std::string, std::string> PauseEnv(const std::string& pause_at);
  std::unique_ptr<Process> emulator_, conductor_;
  std::map<int, Daemon> apis_;
  std::map<std::string, Daemon> computes_;
  int failure_logs_key_ = 0;  // in FailureLogs while the stack lives
};

// The fixture's Keystone (tests/support/keystone): a project-scoped token
// for `user` (every user's password is the fixture's), and an identity API
// call as `token` (throws on a status >= 300; the decoded body, or null).
std::string KeystoneToken(const std::string& user, const std::string& project);
nlohmann::json KeystoneCall(const std::string& method, const std::string& path,
                            const nlohmann::json& body,
                            const std::string& token);
// An INI section naming the fixture's "nova" service user (admin + service
// roles in project "service") for Keystone password auth at `auth_url`
// (default: the fixture's Keystone), e.g. [keystone_authtoken] or [manila].
std::string KeystoneServiceConfig(const std::string& section,
                                  const std::string& auth_url = "");
// Registers a service of `type` with a public endpoint at `url` in
// `region` (created if new) of the fixture's Keystone, as its admin.
void RegisterKeystoneEndpoint(const std::string& region,
                              const std::string& type, const std::string& url);
// A token Keystone's own keys sign for `user` of `project` that expired
// five minutes ago (tests/support/keystone_expired_token.py).
std::string ExpiredKeystoneToken(const std::string& user,
                                 const std::string& project);

// What the fixture's broker holds in `queue` (a passive declare): messages
// ready for delivery (not those delivered and unacked) and consumers.
// nullopt when the queue does not exist or the broker does not answer.
struct QueueCounts {
  int messages = 0;
  int consumers = 0;
};
std::optional<QueueCounts> InspectQueue(const std::string& queue);

// Collects the versioned notifications published on `exchange`; the
// constructor returns once its queue is bound (probes are dropped).
class NotificationListener {
 public:
  explicit NotificationListener(const std::string& exchange);
  ~NotificationListener();
  // The oslo.message bodies, decoded, in arrival order.
  std::vector<nlohmann::json> Messages();
  std::vector<std::string> EventTypes();
  // The event types containing `part`, in order, once there are at least
  // `count` of them (or what there is after the wait).
  std::vector<std::string> AwaitEventTypes(const std::string& part,
                                           size_t count);
  // The first message of `event_type`, or null.
  nlohmann::json Message(const std::string& event_type);
  // Returns once every message the broker took for the exchange before
  // the call has arrived (a probe published now has: the queue is FIFO);
  // false if the probe did not arrive within `timeout`.
  bool Sync(std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_SUPPORT_STACK_H_
