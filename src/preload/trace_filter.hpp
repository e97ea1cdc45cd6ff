// Which mapped files are traced: those whose path matches one of the user's globs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mmiotrace::preload {

// The PCI device behind a VFIO device descriptor of this process, as "vfio-device:GROUP:BDF":
// the one device of the VFIO groups among `open_paths` (the targets of /proc/self/fd), read
// from `sysfs`. Empty when there is not exactly one.
std::string vfio_device_path(const std::vector<std::string>& open_paths,
                             const std::string& sysfs = "/sys");

class TraceFilter {
 public:
  // Expands the globs once, to recognise files reached through symbolic links (sysfs PCI
  // resource files are links: /sys/bus/pci/devices/D is /sys/devices/pci.../D).
  explicit TraceFilter(std::vector<std::string> globs);

  // The path of the file open on `fd`, when a glob matches it (by its canonical path, or by
  // being a file some glob named through a link). A VFIO device descriptor matches when a glob
  // names its group (/dev/vfio/N); its path is then "vfio-device:GROUP:D:B:D.F". Normal
  // context.
  std::optional<std::string> match(int fd) const;

  const std::vector<std::string>& globs() const { return globs_; }

 private:
  std::vector<std::string> globs_;
  std::set<std::pair<dev_t, ino_t>> named_files_;
};

}  // namespace mmiotrace::preload
