// Physical addresses of mapped files (see physical_address.hpp). Normal context.
#include "preload/physical_address.hpp"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string_view>
#include <utility>

#include "core/address_range.hpp"

namespace mmiotrace::preload {
namespace {

// Line `index` of a PCI device's "resource" file: "0x<start> 0x<end> 0x<flags>".
std::optional<uint64_t> bar_start(const std::string& device_dir, unsigned index) {
  std::ifstream resource(device_dir + "/resource");
  std::string line;
  for (unsigned i = 0; std::getline(resource, line); ++i) {
    if (i != index) continue;
    uint64_t start = 0;
    if (sscanf(line.c_str(), "%" SCNx64, &start) == 1) return start;
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<uint64_t> read_hex_file(const std::string& path) {
  std::ifstream file(path);
  std::string text;
  if (!(file >> text)) return std::nullopt;
  try {
    return std::stoull(text, nullptr, 16);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// "<device dir>/resourceN" or "<device dir>/resourceN_wc" of a PCI device: the device
// directory and N.
std::optional<std::pair<std::string, unsigned>> pci_resource(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string name = path.substr(slash + 1);
  if (name.rfind("resource", 0) != 0 || name.size() < 9) return std::nullopt;
  std::string suffix = name.substr(8);
  if (suffix.size() == 4 && suffix.substr(1) == "_wc") suffix.resize(1);
  if (suffix.size() != 1 || suffix[0] < '0' || suffix[0] > '5') return std::nullopt;
  return std::pair{path.substr(0, slash), static_cast<unsigned>(suffix[0] - '0')};
}

// "/dev/uioN": "uioN".
std::optional<std::string> uio_device(const std::string& path) {
  constexpr std::string_view kPrefix = "/dev/uio";
  if (path.rfind(kPrefix, 0) != 0 || path.size() == kPrefix.size()) return std::nullopt;
  for (size_t i = kPrefix.size(); i < path.size(); ++i) {
    if (path[i] < '0' || path[i] > '9') return std::nullopt;
  }
  return path.substr(5);
}

}  // namespace

uint64_t physical_address(const std::string& path, uint64_t offset, const std::string& sysfs) {
  if (path == "/dev/mem") return offset;
  if (auto resource = pci_resource(path)) {
    std::string device_dir = resource->first;
    if (device_dir.rfind("/sys/", 0) == 0) device_dir = sysfs + device_dir.substr(4);
    if (auto start = bar_start(device_dir, resource->second)) return *start + offset;
    return offset;
  }
  constexpr std::string_view kVfio = "vfio-device:";
  if (path.rfind(kVfio, 0) == 0) {
    // vfio-pci places region N at offset N << 40 of the device descriptor.
    std::string device = path.substr(path.find(':', kVfio.size()) + 1);
    uint64_t region = offset >> 40;
    uint64_t within = offset & ((uint64_t{1} << 40) - 1);
    if (region < 6) {
      if (auto start =
              bar_start(sysfs + "/bus/pci/devices/" + device, static_cast<unsigned>(region))) {
        return *start + within;
      }
    }
    return within;
  }
  if (auto device = uio_device(path)) {
    uint64_t map_index = offset / kPageSize;
    std::string map_dir = sysfs + "/class/uio/" + *device + "/maps/map" + std::to_string(map_index);
    if (auto address = read_hex_file(map_dir + "/addr")) {
      return *address + (offset - map_index * kPageSize);
    }
  }
  return offset;
}

}  // namespace mmiotrace::preload
