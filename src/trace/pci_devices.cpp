// PCIDEV lines from sysfs (see pci_devices.hpp).
#include "trace/pci_devices.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mmiotrace::trace {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

uint64_t read_number(const std::string& path, int base) {
  try {
    return std::stoull(read_line(path), nullptr, base);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string link_name(const std::string& path) {
  char target[PATH_MAX];
  ssize_t length = readlink(path.c_str(), target, sizeof(target) - 1);
  if (length <= 0) return "";
  std::string link(target, static_cast<size_t>(length));
  return link.substr(link.rfind('/') + 1);
}

bool any_glob_matches(const std::vector<std::string>& globs, const std::string& path) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& glob) {
    return fnmatch(glob.c_str(), path.c_str(), FNM_PATHNAME) == 0;
  });
}

}  // namespace

std::string pci_device_line(const std::string& device_dir) {
  std::string name = device_dir.substr(device_dir.rfind('/') + 1);
  unsigned domain = 0, bus = 0, slot = 0, function = 0;
  if (sscanf(name.c_str(), "%x:%x:%x.%x", &domain, &bus, &slot, &function) != 4) return "";
  uint64_t vendor = read_number(device_dir + "/vendor", 16);
  uint64_t device = read_number(device_dir + "/device", 16);
  uint64_t irq = read_number(device_dir + "/irq", 10);
  uint64_t bases[7] = {};
  uint64_t sizes[7] = {};
  std::ifstream resource(device_dir + "/resource");
  std::string line;
  for (int i = 0; i < 7 && std::getline(resource, line); ++i) {
    uint64_t start = 0, end = 0, flags = 0;
    if (sscanf(line.c_str(), "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end, &flags) != 3) {
      continue;
    }
    bases[i] = start | (flags & 0xf);
    sizes[i] = start == 0 && end == 0 ? 0 : end - start + 1;
  }
  // "PCIDEV %02x%02x %04x%04x %x" 7 x " %llx" 7 x " %llx" then " %s" (driver) or " "
  char text[512];
  int length = snprintf(text, sizeof(text), "PCIDEV %02x%02x %04x%04x %x", bus,
                        (slot << 3) | function, static_cast<unsigned>(vendor),
                        static_cast<unsigned>(device), static_cast<unsigned>(irq));
  std::string out(text, static_cast<size_t>(length));
  for (uint64_t base : bases)
    out += " " + (std::ostringstream() << std::hex << base).str();
  for (uint64_t size : sizes)
    out += " " + (std::ostringstream() << std::hex << size).str();
  out += " " + link_name(device_dir + "/driver");
  return out;
}

std::vector<std::string> pci_device_lines(const std::vector<std::string>& globs,
                                          const std::string& sysfs) {
  std::vector<std::string> lines;
  std::string devices_dir = sysfs + "/bus/pci/devices";
  DIR* devices = opendir(devices_dir.c_str());
  if (devices == nullptr) return lines;
  std::vector<std::string> names;
  while (dirent* entry = readdir(devices)) {
    if (entry->d_name[0] != '.') names.push_back(entry->d_name);
  }
  closedir(devices);
  std::sort(names.begin(), names.end());
  bool all = any_glob_matches(globs, "/dev/mem");
  for (const std::string& name : names) {
    std::string dir = devices_dir + "/" + name;
    bool traced = all;
    // The device's resource files, by their usual name and by their canonical one.
    char resolved[PATH_MAX];
    std::string canonical = realpath(dir.c_str(), resolved) ? resolved : dir;
    if (canonical.rfind(sysfs, 0) == 0) canonical = "/sys" + canonical.substr(sysfs.size());
    for (int bar = 0; bar < 6 && !traced; ++bar) {
      std::string resource = "/resource" + std::to_string(bar);
      traced = any_glob_matches(globs, "/sys/bus/pci/devices/" + name + resource) ||
               any_glob_matches(globs, canonical + resource);
    }
    std::string group = link_name(dir + "/iommu_group");
    if (!traced && !group.empty()) traced = any_glob_matches(globs, "/dev/vfio/" + group);
    if (!traced) continue;
    std::string line = pci_device_line(dir);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool parse_pci_device_line(const std::string& line, PciDeviceFields* fields,
                           PciDeviceLineError* error) {
  *error = {};
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word && words.size() < 19;)
    words.push_back(word);
  if (words.size() < 18 || words[0] != "PCIDEV" || words[1].size() != 4) {
    error->kind = PciDeviceLineError::Kind::Malformed;
    return false;
  }
  auto hex = [&](size_t index, uint64_t* value) {
    const std::string& text = words[index];
    char* end = nullptr;
    errno = 0;
    *value = std::strtoull(text.c_str(), &end, 16);
    if (text.empty() || text[0] == '-' || text[0] == '+' || *end != '\0' || errno != 0) {
      error->kind = PciDeviceLineError::Kind::NotHex;
      error->field = text;
      return false;
    }
    return true;
  };
  uint64_t slot = 0;
  if (!hex(1, &slot)) return false;
  fields->bus = static_cast<uint32_t>(slot >> 8);
  fields->devfn = static_cast<uint32_t>(slot & 0xff);
  error->slot_read = true;
  uint64_t ids = 0;
  if (!hex(2, &ids) || !hex(3, &fields->irq)) return false;
  for (size_t i = 0; i < 7; ++i) {
    if (!hex(4 + i, &fields->base[i]) || !hex(11 + i, &fields->size[i])) return false;
  }
  fields->vendor = static_cast<uint16_t>(ids >> 16);
  fields->device = static_cast<uint16_t>(ids);
  fields->driver = words.size() > 18 ? words[18] : "";
  return true;
}

}  // namespace mmiotrace::trace
