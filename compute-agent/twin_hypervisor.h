// A stateful twin of libvirt behind the Hypervisor seam, for tests of what
// libvirt's test driver cannot do (it refuses device hot-plug). Selected
// with [compute] hypervisor_driver = twin; never for production (the agent
// warns at every start). Domains are XML strings: a definition and, while
// running, a live copy; hot-plug edits them as libvirt would.
//
// A test steers it through files in its control directory:
//   fail-attach    the next hot-plugs fail with the file's text
//   stuck-detach   a live unplug is accepted but the device stays (a guest
//                  that does not let go)
// and finds the live XML of each running domain in <dir>/<name>.live.xml.
#ifndef SHAREPLANE_COMPUTE_AGENT_TWIN_HYPERVISOR_H_
#define SHAREPLANE_COMPUTE_AGENT_TWIN_HYPERVISOR_H_

#include <map>
#include <string>

#include "compute-agent/hypervisor.h"

namespace shareplane {

class TwinHypervisor : public Hypervisor {
 public:
  explicit TwinHypervisor(std::string control_dir);
  absl::StatusOr<HypervisorInfo> Info() override;
  absl::Status DefineDomain(const std::string& xml) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status StartDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status StopDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status RebootDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status UndefineDomain(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<DomainState> GetDomainState(const std::string& name) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<std::string>> ListDomainXml() override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::string> GetDomainXml(const std::string& name,
                                           bool live) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status AttachDevice(const std::string& name,
                            const std::string& device_xml, bool live,
                            bool config) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DetachDevice(const std::string& name,
                            const std::string& device_xml, bool live,
                            bool config) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Domain {
    std::string config;  // the persistent definition
    std::string live;    // "" while shut off
  };
  // Writes (or removes) <dir>/<name>.live.xml.
  void PublishLocked(const std::string& name, const Domain& d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Control(const std::string& file, std::string* text = nullptr) const;

  const std::string control_dir_;
  Mutex mu_;
  std::map<std::string, Domain> domains_ ABSL_GUARDED_BY(mu_);
};

// The target tags (<target dir=.../>) of the <filesystem> elements of a
// domain or device XML, in order.
std::vector<std::string> FilesystemTags(const std::string& xml);

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_TWIN_HYPERVISOR_H_
