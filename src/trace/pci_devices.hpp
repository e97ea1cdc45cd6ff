// The PCIDEV lines a text trace starts with: one per PCI device the trace globs can reach, in
// the kernel's format, read from sysfs; and the one reader of such a line's fields. Normal
// context.
#pragma once

#include <cstdint>
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

// A PCIDEV line's fields: "PCIDEV BBDF VVVVDDDD IRQ", seven bases (the six BARs and the ROM,
// each with its resource flags in the low bits), seven sizes, then the driver's name when one
// is bound. All numbers are hexadecimal.
struct PciDeviceFields {
  uint32_t bus = 0;
  uint32_t devfn = 0;  // slot << 3 | function
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint64_t irq = 0;
  uint64_t base[7] = {};
  uint64_t size[7] = {};
  std::string driver;
};

// What reading a PCIDEV line found wrong: nothing, too few fields (or not a PCIDEV line at
// all), or a field that is not a hexadecimal number (`field` holds it, as it was).
// `slot_read`: the function's bus and devfn were read all the same (they come first).
struct PciDeviceLineError {
  enum class Kind { None, Malformed, NotHex } kind = Kind::None;
  std::string field;
  bool slot_read = false;
};

// Reads `line` (without its newline). Returns false, and says why in `error`, when it is not a
// well-formed PCIDEV line.
bool parse_pci_device_line(const std::string& line, PciDeviceFields* fields,
                           PciDeviceLineError* error);

}  // namespace mmiotrace::trace
