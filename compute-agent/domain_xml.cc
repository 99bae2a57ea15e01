// Domain XML of a server: the model and its rendering (see server_driver.h).
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "compute-agent/server_driver.h"

namespace shareplane {
namespace {

std::string XmlEscape(const std::string& in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string DomainName(const std::string& server_uuid) {
  return "instance-" + server_uuid;
}

absl::StatusOr<BootImage> ResolveImage(const std::string& image_dir,
                                       const std::string& image_ref) {
  BootImage image;
  if (image_dir.empty() || image_ref.empty()) return image;
  if (image_ref == "." || image_ref == ".." ||
      image_ref.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                  "QRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid image name '", image_ref, "'"));
  }
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(image_dir) / image_ref;
  std::error_code ec;
  if (fs::is_regular_file(dir / "vmlinuz", ec)) {
    image.kernel = (dir / "vmlinuz").string();
    if (fs::is_regular_file(dir / "initrd.img", ec)) {
      image.initrd = (dir / "initrd.img").string();
    }
    std::ifstream in(dir / "cmdline");
    std::getline(in, image.cmdline);
    return image;
  }
  const fs::path disk = fs::path(image_dir) / (image_ref + ".qcow2");
  if (fs::is_regular_file(disk, ec)) {
    image.disk = disk.string();
    return image;
  }
  return absl::NotFoundError(
      absl::StrCat("Image '", image_ref, "' not found in ", image_dir));
}

DomainModel DomainModelFor(const agent::v1::ServerSpec& spec,
                           const std::vector<std::string>& mount_points,
                           const DomainOptions& options,
                           const BootImage& image) {
  DomainModel m;
  m.type = options.virt_type;
  m.name = DomainName(spec.server_uuid());
  m.uuid = spec.server_uuid();
  m.title = spec.name();
  m.memory_mb = spec.memory_mb();
  m.vcpus = spec.vcpus();
  m.backing = spec.huge_pages()                  ? MemoryBacking::kHugePages
              : options.shared_memory == "file"  ? MemoryBacking::kFile
              : options.shared_memory == "memfd" ? MemoryBacking::kMemfd
                                                 : MemoryBacking::kNone;
  m.boot = image;
  m.emulator = options.emulator;
  if (!options.console_dir.empty()) {
    m.console_log = absl::StrCat(options.console_dir, "/", m.name, ".log");
  }
  m.pcie_ports = options.pcie_ports;
  for (int i = 0; i < spec.filesystems_size(); ++i) {
    m.filesystems.push_back({mount_points[i], spec.filesystems(i).tag()});
  }
  return m;
}

std::string FilesystemXml(const DomainModel::Filesystem& fs) {
  return absl::StrCat(
      "<filesystem type='mount' accessmode='passthrough'>"
      "<driver type='virtiofs'/><source dir='",
      XmlEscape(fs.source), "'/><target dir='", XmlEscape(fs.tag),
      "'/></filesystem>");
}

std::string DomainXml(const DomainModel& m) {
  // Every value goes through XmlEscape; numbers are printed as numbers.
  std::string xml = absl::StrCat(
      "<domain type='", XmlEscape(m.type), "'>\n  <name>", XmlEscape(m.name),
      "</name>\n  <uuid>", XmlEscape(m.uuid), "</uuid>\n  <title>",
      XmlEscape(m.title), "</title>\n  <memory unit='MiB'>", m.memory_mb,
      "</memory>\n  <vcpu>", m.vcpus, "</vcpu>\n");
  switch (m.backing) {
    case MemoryBacking::kHugePages:
      absl::StrAppend(&xml,
                      "  <memoryBacking><hugepages/><access mode='shared'/>"
                      "</memoryBacking>\n");
      break;
    case MemoryBacking::kFile:
    case MemoryBacking::kMemfd:
      absl::StrAppend(&xml, "  <memoryBacking><source type='",
                      m.backing == MemoryBacking::kFile ? "file" : "memfd",
                      "'/><access mode='shared'/></memoryBacking>\n");
      break;
    case MemoryBacking::kNone:
      break;
  }
  if (!m.q35()) {
    absl::StrAppend(&xml, "  <os><type arch='x86_64'>hvm</type></os>\n");
  } else {
    absl::StrAppend(&xml,
                    "  <os><type arch='x86_64' machine='q35'>hvm</type>"
                    "<kernel>",
                    XmlEscape(m.boot.kernel), "</kernel>");
    if (!m.boot.initrd.empty()) {
      absl::StrAppend(&xml, "<initrd>", XmlEscape(m.boot.initrd), "</initrd>");
    }
    absl::StrAppend(&xml, "<cmdline>", XmlEscape(m.boot.cmdline),
                    "</cmdline></os>\n");
  }
  if (m.backing == MemoryBacking::kHugePages) {
    // Shared NUMA memory access, as huge-page virtiofs requires.
    absl::StrAppend(&xml, "  <cpu><numa><cell id='0' cpus='0-",
                    std::max(0, m.vcpus - 1), "' memory='", m.memory_mb,
                    "' unit='MiB' memAccess='shared'/></numa></cpu>\n");
  }
  absl::StrAppend(&xml, "  <features><acpi/></features>\n  <devices>\n");
  if (!m.emulator.empty()) {
    absl::StrAppend(&xml, "    <emulator>", XmlEscape(m.emulator),
                    "</emulator>\n");
  }
  if (!m.boot.disk.empty()) {
    absl::StrAppend(&xml,
                    "    <disk type='file' device='disk'><driver name='qemu' "
                    "type='qcow2'/><source file='",
                    XmlEscape(m.boot.disk),
                    "'/><target dev='vda' bus='virtio'/></disk>\n");
  }
  if (!m.console_log.empty()) {
    const std::string log = XmlEscape(m.console_log);
    absl::StrAppend(&xml, "    <serial type='file'><source path='", log,
                    "'/><target port='0'/></serial>\n"
                    "    <console type='file'><source path='",
                    log, "'/><target type='serial' port='0'/></console>\n");
  }
  if (m.q35()) {
    // Spare root ports for hot-plug: libvirt's default leaves one free, and
    // a second device then fails with "No more available PCI slots".
    if (m.pcie_ports > 0) {
      absl::StrAppend(&xml,
                      "    <controller type='pci' index='0' "
                      "model='pcie-root'/>\n");
    }
    for (int i = 0; i < m.pcie_ports; ++i) {
      absl::StrAppend(&xml,
                      "    <controller type='pci' model='pcie-root-port'/>\n");
    }
  }
  for (const auto& fs : m.filesystems) {
    absl::StrAppend(&xml, "    ", FilesystemXml(fs), "\n");
  }
  absl::StrAppend(&xml, "  </devices>\n</domain>\n");
  return xml;
}

std::string BuildDomainXml(const agent::v1::ServerSpec& spec,
                           const std::vector<std::string>& mount_points,
                           const DomainOptions& options,
                           const BootImage& image) {
  return DomainXml(DomainModelFor(spec, mount_points, options, image));
}

}  // namespace shareplane
