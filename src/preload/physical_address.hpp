// Physical addresses of mapped files, as the kernel's format reports them
// (docs/trace-format.md, "Physical addresses").
#pragma once

#include <cstdint>
#include <string>

namespace mmiotrace::preload {

// The physical address of byte `offset` of the file at canonical `path`:
//   /dev/mem                          offset
//   <pci device>/resourceN[_wc]       start of BAR N (from <pci device>/resource) + offset
//   /dev/uioN                         map M = offset / page size: maps/mapM/addr + the rest
//   vfio-device:GROUP:BDF             region N = offset >> 40: start of BAR N + the rest
//   anything else                     offset (the file offset stands in)
// `sysfs` is where sysfs is mounted ("/sys"; tests pass a copy).
uint64_t physical_address(const std::string& path, uint64_t offset,
                          const std::string& sysfs = "/sys");

}  // namespace mmiotrace::preload
