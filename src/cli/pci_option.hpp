// The --pci option of `mmiotrace record`: MODEL[:ARGS]@BDF, a virtual PCI function whose BAR
// MODEL answers. ARGS holds the model's own arguments and the function's: vendor=, device=,
// subsystem_vendor=, subsystem_device=, class=, revision= (its identity, which the model's
// default gives otherwise), config=FILE (a configuration space dumped by `lspci -xxx`), bar=N
// (the BAR the model answers, default 0) and driver= (uio_pci_generic, vfio-pci). Everything is
// checked, and the bus laid out (BAR addresses, UIO and VFIO numbers), before the command runs,
// so that a mistake is one line and exit status 115.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/pci_bus.hpp"
#include "devices/pci_function.hpp"
#include "trace/pci_devices.hpp"

namespace mmiotrace::cli {

struct PciOption {
  std::string text;  // as given
  devices::PciAddress address;
  std::string model;
  std::string model_arguments;  // ARGS without the function's own keys
  devices::PciIdentity identity;
  std::optional<devices::PciConfigDump> dump;
  std::string driver;  // empty, "uio_pci_generic" or "vfio-pci"
  unsigned bar = 0;
  uint64_t model_size = 0;  // the model's register space
};

// `text` parsed and checked: the address, the keys, the dump, the identity (which the model may
// refuse), the model and its arguments. Throws CliError(kExitBadPci) naming `subcommand`.
PciOption checked_pci(const std::string& subcommand, const std::string& text);

// The bus these functions make: no two at one address, none where the host (`sysfs`) has a
// device; BAR addresses kept from a dump or chosen clear of the host's BARs and each other;
// UIO and VFIO numbers the host does not use. Throws CliError(kExitBadPci).
VirtualPciBus plan_pci_bus(const std::string& subcommand, const std::vector<PciOption>& options,
                           bool only, const std::string& sysfs);

// A trace's PCIDEV line read for `replay`: one that does not parse is refused, naming the
// function when its address could be read. Throws CliError(kExitBadTrace).
trace::PciDeviceFields replayed_pci_device(const std::string& line);
// The address of the function a PCIDEV line describes (in domain 0: the kernel's lines name none).
devices::PciAddress pci_address_of(const trace::PciDeviceFields& pcidev);

// A function a trace describes (its PCIDEV line, and the configuration space its markers give,
// if any), whose BAR `bar` a replay serves.
struct ReplayedPciFunction {
  trace::PciDeviceFields pcidev;  // its PCIDEV line
  std::string config;             // its configuration space, or empty
  devices::PciAddress address;
  unsigned bar = 0;
};

// `replay --pci-config FILE@BDF`: the configuration space the function at BDF is to have, from a
// dump in `lspci -xxx` format, for a trace that holds none (one made on hardware).
struct PciConfigChoice {
  devices::PciAddress address;
  std::string config;  // 64, 256 or 4096 bytes
};
// Throws CliError(kExitBadPci), naming the file, line and column of a dump that does not parse.
PciConfigChoice parse_pci_config_choice(const std::string& text);

// The bus that puts the functions back as the trace describes them, at their addresses, with
// their identity and BAR addresses, each BAR answered by the replay. Throws CliError.
VirtualPciBus plan_replayed_pci_bus(const std::vector<ReplayedPciFunction>& functions,
                                    const std::string& sysfs);

}  // namespace mmiotrace::cli
