// What Manila says about a share, as the agent gets it (protocol, export
// location, cephx id and key, one per line): validated, and for exports
// that pass, the mount argv built. The export is never an option, and the
// key never reaches the argv (another key gives the same argv).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "compute-agent/mount_manager.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> f = absl::StrSplit(text, absl::MaxSplits('\n', 3));
  f.resize(4);
  shareplane::ExportSpec e{f[1], f[0], f[2], f[3]};
  if (!shareplane::ValidateExport(e).ok()) return 0;
  for (const char* type : {"kernel", "fuse"}) {
    shareplane::MountOptions options;
    options.base = "/var/lib/shareplane/mnt";
    options.ceph_mount_type = type;
    const std::vector<std::string> argv = shareplane::MountArgv(
        e, "/var/lib/shareplane/mnt/x", options, "/run/secret");
    // The key never reaches the argv: another key gives the same argv.
    shareplane::ExportSpec other = e;
    other.cephx_key = e.cephx_key == "QUFBQQ==" ? "QkJCQg==" : "QUFBQQ==";
    if (shareplane::MountArgv(other, "/var/lib/shareplane/mnt/x", options,
                              "/run/secret") != argv) {
      __builtin_trap();
    }
    for (const std::string& arg : argv) {
      if (arg == e.export_location && !arg.empty() && arg[0] == '-') {
        __builtin_trap();  // the export read as an option
      }
    }
  }
  return 0;
}
