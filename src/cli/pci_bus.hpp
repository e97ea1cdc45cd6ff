// The virtual PCI bus of `mmiotrace record --pci`: the functions laid out, the sysfs tree that
// shows them to the command in a private mount namespace, and the PCIDEV and configuration
// lines the trace starts with. Normal context, in `mmiotrace record` (enter_pci_bus: in the
// child that becomes the command).
#pragma once

#include <string>
#include <vector>

#include "devices/pci_function.hpp"

namespace mmiotrace::cli {

struct VirtualPciBus {
  std::vector<devices::PciFunction> functions;
  std::vector<devices::PciAttachment> attachments;  // one per function, in the same order
  bool only = false;                                // --pci-only: the host's devices are hidden
  bool empty() const { return functions.empty(); }
};

// In the child, before it executes the command: a private mount namespace (an unprivileged
// user namespace when the process may not make one itself) in which sysfs holds the bus's
// functions beside (or, with `only`, instead of) the host's, and the environment that tells the
// shim of them. On failure it says what is missing on stderr and exits with kExitNoPciBus.
void enter_pci_bus(const VirtualPciBus& bus);

// Writes the sysfs folder of `function` (attributes, config, resource and resourceN files, the
// driver and subsystem links, UIO's folder) into `directory`, which exists. Throws
// std::runtime_error.
void write_pci_function(const std::string& directory, const devices::PciFunction& function,
                        const devices::PciAttachment& attachment);

// The PCIDEV lines of the trace: the host's devices that `globs` reach (none with --pci-only),
// and the bus's functions, in the order of their addresses, as the kernel writes them.
std::vector<std::string> pci_device_lines(const VirtualPciBus& bus,
                                          const std::vector<std::string>& globs,
                                          const std::string& sysfs);

// The markers that give each function's configuration space (trace/markers.hpp), so that
// `mmiotrace replay` can put the function back with its whole identity.
std::vector<std::string> pci_config_markers(const VirtualPciBus& bus);

}  // namespace mmiotrace::cli
