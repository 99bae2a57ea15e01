#include "common/core/options.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace shareplane {

const std::vector<OptionDoc>& AllOptions() {
  static const auto* options = new std::vector<OptionDoc>{
      // shareplane.conf: read by every daemon.
      {"shareplane", "DEFAULT", "transport_url",
       "amqp://guest:guest@127.0.0.1:5672/",
       "RabbitMQ URL (amqp:// or rabbit://; amqps:// for TLS, by the "
       "broker's DNS name) for tasks and notifications."},
      {"shareplane", "oslo_messaging_rabbit", "ssl_ca_file", "",
       "amqps://: CA the broker's certificate must chain to (empty: the "
       "system's); its name must match the URL's host."},
      {"shareplane", "oslo_messaging_rabbit", "ssl_cert_file", "",
       "amqps://: client certificate, when the broker asks for one."},
      {"shareplane", "oslo_messaging_rabbit", "ssl_key_file", "", "Its key."},
      {"shareplane", "DEFAULT", "host", "<hostname>",
       "Name of this host: the compute host name agents register with."},
      {"shareplane", "DEFAULT", "my_ip", "127.0.0.1",
       "This host's address; the default storage_ip of a compute host."},
      {"shareplane", "DEFAULT", "debug", "false", "Log at debug level."},
      {"shareplane", "DEFAULT", "service_down_time", "60",
       "Seconds without a heartbeat after which a compute host is down."},
      {"shareplane", "DEFAULT", "ram_allocation_ratio", "1.5",
       "Virtual to physical RAM ratio the scheduler allows."},
      {"shareplane", "DEFAULT", "cpu_allocation_ratio", "16.0",
       "Virtual to physical CPU ratio the scheduler allows."},
      {"shareplane", "DEFAULT", "shelved_offload_time", "0",
       "0: a shelve offloads at once (frees the host, its mounts and unused "
       "rules), as Nova's default; any other value: the server stays "
       "SHELVED on its host until shelveOffload."},
      {"shareplane", "database", "connection",
       "postgresql://shareplane@127.0.0.1:5432/shareplane",
       "PostgreSQL connection URL (libpq syntax). TLS: add "
       "?sslmode=verify-full&sslrootcert=/path/ca.pem."},
      {"shareplane", "database", "max_pool_size", "8",
       "Connections each process keeps open."},
      {"shareplane", "database", "pool_timeout", "10",
       "Seconds a request waits for a pooled connection before it fails "
       "as unavailable."},
      {"shareplane", "database", "sync_on_start", "false",
       "Apply schema migrations at start (else: shareplane-manage db sync)."},
      // The agent plane: the conductor and every agent read these.
      {"shareplane", "compute", "grpc_tls_cert_file", "",
       "This daemon's certificate on the agent plane (PEM; shareplane-manage "
       "ca issue): an agent's names its host, the conductor's names "
       "grpc_conductor_name."},
      {"shareplane", "compute", "grpc_tls_key_file", "", "Its key."},
      {"shareplane", "compute", "grpc_tls_ca_file", "",
       "CA that signs the agent plane's certificates."},
      {"shareplane", "compute", "grpc_conductor_name", "shareplane-conductor",
       "The name the conductor's certificate carries; agents take calls only "
       "from it, and no host may register under it."},
      {"shareplane", "compute", "grpc_insecure", "false",
       "Plaintext gRPC between conductor and agents, with no identities "
       "checked (warned at every start). Only for tests."},
      {"shareplane", "manila", "endpoint", "",
       "Manila's v2 URL (e.g. http://manila:8786/v2). Empty with Keystone: "
       "from the catalog; without Keystone: http://127.0.0.1:8786/v2."},
      {"shareplane", "manila", "endpoint_override", "",
       "Alias of endpoint, as keystoneauth names it."},
      {"shareplane", "manila", "timeout", "30",
       "Seconds one Manila request may take."},
      {"shareplane", "manila", "access_rule_timeout", "60",
       "Seconds an access rule may take to become active or go away."},
      {"shareplane", "manila", "access_rule_poll_ms", "10",
       "First interval of polling an access rule (doubles each time)."},
      {"shareplane", "manila", "access_rule_poll_max_ms", "2000",
       "Longest interval of polling an access rule."},
      {"shareplane", "manila", "retry_attempts", "5",
       "Attempts of a Manila step that failed for a transient reason."},
      {"shareplane", "manila", "cephx_id", "nova",
       "cephx user that CephFS access rules are granted to."},
      {"shareplane", "manila", "service_user", "nova",
       "noauth only: the service identity's user."},
      {"shareplane", "manila", "service_project", "service",
       "noauth only: the service identity's project."},
      {"shareplane", "manila", "auth_type", "noauth",
       "noauth, password or v3applicationcredential: how the service "
       "authenticates to Keystone for Manila calls."},
      {"shareplane", "manila", "auth_url", "", "Keystone URL (with /v3)."},
      {"shareplane", "manila", "username", "", "Service user."},
      {"shareplane", "manila", "password", "", "Service user's password."},
      {"shareplane", "manila", "user_domain_name", "Default",
       "Domain of the service user."},
      {"shareplane", "manila", "project_name", "", "Service project."},
      {"shareplane", "manila", "project_domain_name", "Default",
       "Domain of the service project."},
      {"shareplane", "manila", "application_credential_id", "",
       "Application credential (auth_type = v3applicationcredential)."},
      {"shareplane", "manila", "application_credential_secret", "",
       "Its secret."},
      {"shareplane", "manila", "region_name", "",
       "Region of the Manila endpoint in the catalog."},
      {"shareplane", "manila", "valid_interfaces", "public",
       "Catalog interface of the Manila endpoint."},
      {"shareplane", "notifications", "enabled", "true",
       "Publish versioned notifications."},
      {"shareplane", "notifications", "exchange", "nova",
       "Topic exchange of the notifications."},
      {"shareplane", "notifications", "include_share_mapping", "false",
       "Fill the share list of instance notifications."},
      {"shareplane", "conductor", "task_queue", "shareplane.conductor",
       "Durable queue tasks travel on (API and conductor)."},
      // api.conf
      {"api", "api", "listen", "0.0.0.0", "Address of the compute API."},
      {"api", "api", "listen_port", "8774",
       "Port of the compute API (also /healthcheck and /metrics)."},
      {"api", "api", "workers", "16",
       "Threads running compute API handlers that use the database."},
      {"api", "api", "slow_workers", "32",
       "Threads running handlers that wait on Manila (share attach)."},
      {"api", "api", "io_threads", "2",
       "Threads reading and writing HTTP for the compute API."},
      {"api", "api", "max_queued_requests", "256",
       "Requests each worker pool queues before answering 503."},
      {"api", "api", "grpc_listen", "<listen>", "Address of the gRPC API."},
      {"api", "api", "live_share_attach", "true",
       "Attach and detach shares on running servers whose host hot-plugs "
       "them (CUSTOM_VIRTIOFS_HOTPLUG); false: Nova's 409."},
      {"api", "api", "grpc_listen_port", "8779", "Port of the gRPC API."},
      {"api", "api", "auth_strategy", "keystone",
       "keystone, or noauth2 (trusts the caller's headers: tests only)."},
      {"api", "api", "metadata_listen", "<listen>",
       "Address of the metadata API."},
      {"api", "api", "metadata_listen_port", "8775",
       "Port of the metadata API."},
      {"api", "api", "metadata_workers", "4",
       "Threads serving the metadata API."},
      {"api", "api", "metadata_proxy_shared_secret", "",
       "Secret of the metadata proxy's X-Instance-ID-Signature; empty "
       "refuses every metadata request."},
      {"api", "keystone_authtoken", "www_authenticate_uri", "<auth_url>",
       "Keystone URL named in WWW-Authenticate of a 401 (else auth_uri)."},
      {"api", "keystone_authtoken", "auth_uri", "",
       "Older name of www_authenticate_uri."},
      {"api", "keystone_authtoken", "auth_type", "",
       "password or v3applicationcredential: the API's own identity, used to "
       "validate callers' tokens."},
      {"api", "keystone_authtoken", "auth_url", "", "Keystone URL (with /v3)."},
      {"api", "keystone_authtoken", "username", "", "Service user."},
      {"api", "keystone_authtoken", "password", "", "Its password."},
      {"api", "keystone_authtoken", "user_domain_name", "Default",
       "Domain of the service user."},
      {"api", "keystone_authtoken", "project_name", "", "Service project."},
      {"api", "keystone_authtoken", "project_domain_name", "Default",
       "Domain of the service project."},
      {"api", "keystone_authtoken", "application_credential_id", "",
       "Application credential (auth_type = v3applicationcredential)."},
      {"api", "keystone_authtoken", "application_credential_secret", "",
       "Its secret."},
      {"api", "keystone_authtoken", "region_name", "", "Region (unused)."},
      {"api", "keystone_authtoken", "valid_interfaces", "public",
       "Interface (unused)."},
      {"api", "keystone_authtoken", "token_cache_time", "300",
       "Seconds a validation result is reused (never past the token's "
       "expiry); 0 disables the cache."},
      {"api", "keystone_authtoken", "http_connect_timeout", "10",
       "Seconds a validation request may take."},
      {"api", "oslo_policy", "policy_file", "",
       "JSON or YAML file of policy rules overriding the defaults."},
      // conductor.conf
      {"conductor", "conductor", "listen", "0.0.0.0",
       "Address of the agent registry (gRPC)."},
      {"conductor", "conductor", "listen_port", "8780",
       "Port of the agent registry."},
      {"conductor", "conductor", "ops_listen", "0.0.0.0",
       "Address of /healthcheck and /metrics."},
      {"conductor", "conductor", "ops_listen_port", "8782",
       "Port of /healthcheck and /metrics."},
      {"conductor", "conductor", "workers", "8", "Task consumers."},
      {"conductor", "conductor", "max_task_failures", "10",
       "Failed runs after which a task is moved to <queue>.dead."},
      {"conductor", "conductor", "task_retry_delay_ms", "1000",
       "Milliseconds before a failed or deferred task runs again."},
      {"conductor", "conductor", "heartbeat_interval", "10",
       "Seconds between agent heartbeats (told to agents)."},
      {"conductor", "conductor", "agent_timeout", "90",
       "Seconds an agent call may take; must exceed every host's "
       "[compute] shutdown_timeout + 5 (hosts whose stops take longer are "
       "refused at registration)."},
      {"conductor", "conductor", "agent_retry_timeout", "30",
       "Seconds to keep calling an agent that cannot be reached (a restart) "
       "before the call fails."},
      {"conductor", "conductor", "reconcile_interval", "60",
       "Seconds between reconciler passes."},
      {"conductor", "conductor", "reconcile_stale_after",
       "<2 x access_rule_timeout + agent_timeout>",
       "Seconds after which an unmoving workflow is queued again."},
      {"conductor", "conductor", "orphan_rule_age", "<reconcile_stale_after>",
       "Seconds after which a locked rule no attachment uses is reported."},
      {"conductor", "conductor", "host_audit_interval", "60",
       "Seconds between audits of what each host runs and mounts against "
       "the database; 0: none."},
      {"conductor", "conductor", "host_audit_timeout", "10",
       "Seconds the host audit waits for an agent's answer."},
      // compute.conf
      {"compute", "compute", "listen", "0.0.0.0",
       "Address of the agent (gRPC)."},
      {"compute", "compute", "listen_port", "8781", "Port of the agent."},
      {"compute", "compute", "ops_listen", "<listen>",
       "Address of /healthcheck and /metrics."},
      {"compute", "compute", "ops_listen_port", "8783",
       "Port of /healthcheck and /metrics."},
      {"compute", "compute", "conductor_endpoint", "127.0.0.1:8780",
       "host:port of the conductor's agent registry."},
      {"compute", "compute", "storage_ip", "<my_ip>",
       "Address NFS access rules are granted to."},
      {"compute", "compute", "mount_base", "/var/lib/shareplane/mnt",
       "Directory under which shares are mounted."},
      {"compute", "compute", "mount_driver", "system",
       "system (runs mount_helper) or memory (in-memory twin for tests)."},
      {"compute", "compute", "mount_helper", "mount",
       "Program run with mount(8)'s argv."},
      {"compute", "compute", "mount_timeout", "60",
       "Seconds a mount or unmount may take."},
      {"compute", "compute", "image_dir", "",
       "Directory of boot images (<ref>/vmlinuz+initrd.img or <ref>.qcow2)."},
      {"compute", "compute", "console_log_dir", "",
       "Directory of serial console logs; empty: none."},
      {"compute", "compute", "shutdown_timeout", "60",
       "Seconds a graceful stop may take before the domain is destroyed."},
      {"compute", "compute", "hot_unplug_timeout", "30",
       "Seconds a live detach waits for the guest to let go of the device; "
       "then the share stays attached (active) with an Error event."},
      {"compute", "compute", "hypervisor_driver", "libvirt",
       "libvirt, or twin (a stateful libvirt twin for tests: no guest runs)."},
      {"compute", "compute", "hypervisor_twin_dir", "",
       "The twin's control directory (fail-attach, stuck-detach files)."},
      {"compute", "libvirt", "num_pcie_ports", "8",
       "pcie-root-port controllers of q35 domains, for hot-plugged shares "
       "(0-28; 0: libvirt's default, which leaves one free)."},
      {"compute", "libvirt", "connection_uri", "qemu:///system",
       "libvirt URI (test:///default for the test driver)."},
      {"compute", "libvirt", "virt_type", "<test for test:///, else kvm>",
       "Domain type."},
      {"compute", "libvirt", "emulator", "", "QEMU binary; empty: libvirt's."},
      {"compute", "libvirt", "shared_memory", "memfd",
       "memfd, file or none: the shared memory virtiofs needs."},
      {"compute", "libvirt", "file_backed_memory", "0",
       "MiB of file-backed memory (shared_memory = file)."},
      {"compute", "libvirt", "virtiofsd_path", "",
       "virtiofsd binary; empty: found through QEMU's descriptors."},
      {"compute", "libvirt", "nfs_mount_options", "",
       "-o options of NFS mounts."},
      {"compute", "libvirt", "ceph_mount_options", "",
       "-o options of CephFS mounts."},
      {"compute", "libvirt", "ceph_mount_type", "kernel",
       "kernel (mount -t ceph) or fuse (ceph-fuse)."},
      {"compute", "libvirt", "ceph_conf", "", "ceph.conf for CephFS mounts."},
  };
  return *options;
}

const std::vector<std::string>& SampleConfigFiles() {
  static const auto* files =
      new std::vector<std::string>{"shareplane", "api", "conductor", "compute"};
  return *files;
}

std::string SampleConfig(const std::string& file) {
  std::string out = absl::StrCat(
      "# /etc/shareplane/", file, ".conf: sample generated by\n",
      "# `shareplane-manage config sample ", file,
      "` from the options the daemons read.\n",
      file == "shareplane"
          ? "# Read by every daemon, then api.conf, conductor.conf or "
            "compute.conf.\n"
          : "# Read after shareplane.conf by this daemon.\n",
      "# Every option is shown commented out at its default; <...> marks a "
      "computed default.\n");
  std::string section;
  for (const OptionDoc& o : AllOptions()) {
    if (o.file != file) continue;
    if (o.section != section) {
      section = o.section;
      absl::StrAppend(&out, "\n[", section, "]\n");
    }
    absl::StrAppend(&out, "\n");
    // Help wrapped at 76 columns.
    std::string line = "#";
    for (absl::string_view word : absl::StrSplit(o.help, ' ')) {
      if (line.size() + 1 + word.size() > 76) {
        absl::StrAppend(&out, line, "\n");
        line = "#";
      }
      absl::StrAppend(&line, " ", word);
    }
    absl::StrAppend(&out, line, "\n#", o.key, " = ", o.default_value, "\n");
  }
  return out;
}

}  // namespace shareplane
