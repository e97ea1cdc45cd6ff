// The PCIDEV lines a text trace starts with: one per PCI device the trace globs can reach, in
// the kernel's format, read from sysfs. Normal context.
#pragma once

#include <string>
#include <vector>

namespace mmiotrace::trace {

// The PCI devices whose memory a mapping matching one of `globs` can reach: every device when
// /dev/mem is traced, else those whose resourceN files (or VFIO group) a glob names. `sysfs` is
// where sysfs is mounted ("/sys"; tests give a stand-in).
std::vector<std::string> pci_device_lines(const std::vector<std::string>& globs,
                                          const std::string& sysfs = "/sys");

// The PCIDEV line of the device whose sysfs directory is `device_dir` (named D:B:D.F), without
// its newline; empty when it cannot be read.
std::string pci_device_line(const std::string& device_dir);

}  // namespace mmiotrace::trace
