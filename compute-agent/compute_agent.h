// Wiring of shareplane-compute: the ComputeAgent gRPC server and the
// registration/heartbeat loop to the conductor. Tests build the same daemon
// with another Hypervisor.
#ifndef SHAREPLANE_COMPUTE_AGENT_COMPUTE_AGENT_H_
#define SHAREPLANE_COMPUTE_AGENT_COMPUTE_AGENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/core/config.h"
#include "compute-agent/hypervisor.h"

namespace shareplane {

class ComputeAgent {
 public:
  // Reads [compute] listen/listen_port/conductor_endpoint/storage_ip,
  // [DEFAULT] host/my_ip, [libvirt] connection_uri/shared_memory/
  // file_backed_memory/virtiofsd_path.
  static absl::StatusOr<std::unique_ptr<ComputeAgent>> Create(
      const Config& config, std::unique_ptr<Hypervisor> hypervisor = nullptr);
  ~ComputeAgent();

  // Serves gRPC, then registers with the conductor in the background
  // (retrying until it answers) and heartbeats.
  absl::Status Start();
  void Stop();
  int port() const;

 private:
  struct Parts;
  explicit ComputeAgent(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_COMPUTE_AGENT_H_
