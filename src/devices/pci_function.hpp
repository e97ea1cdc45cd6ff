// A virtual PCI function (`mmiotrace record --pci MODEL[:ARGS]@BDF`): its address on the bus,
// its identity, its BARs and its configuration space, with the write mask that makes the space
// behave as hardware's does (read-only identity, BARs that report their size when all-ones are
// written, capability headers that stay put). Also the parser of the hex dumps `lspci -xxx` and
// `lspci -xxxx` print, from which a real device's configuration space is reproduced. Normal
// context only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mmiotrace::devices {

inline constexpr size_t kPciConfigSize = 4096;       // PCI Express: 4 KiB
inline constexpr size_t kPciLegacyConfigSize = 256;  // conventional PCI
inline constexpr unsigned kPciBars = 6;

// A function's address: domain, bus, device (slot), function.
struct PciAddress {
  uint32_t domain = 0;
  uint32_t bus = 0;
  uint32_t slot = 0;
  uint32_t function = 0;
  // "DDDD:BB:DD.F", as sysfs names the function.
  std::string text() const;
  // "pciDDDD:BB", the host bridge's folder under /sys/devices.
  std::string root_text() const;
  bool operator==(const PciAddress&) const = default;
};

// "DDDD:BB:DD.F" or "BB:DD.F" (hex; domain up to ffff, bus ff, device 1f, function 7). nullopt
// with a one-line reason in `error` otherwise.
std::optional<PciAddress> parse_pci_address(const std::string& text, std::string* error);

struct PciIdentity {
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  uint32_t class_code = 0;  // base class, subclass, programming interface: 24 bits
  uint8_t revision = 0;
};

// The identity a built-in model's device has on the bus: nvme is QEMU's NVMe controller
// (1b36:0010, class 010802), uart16550 QEMU's PCI 16550A (1b36:0002, 070002), regfile and
// plugins QEMU's PCI test device (1b36:0005, class ff0000).
PciIdentity default_pci_identity(const std::string& model);
// Why `model` cannot present `identity` (nvme: only as an NVM Express controller, class
// 0108xx; uart16550: only as a serial controller, 0700xx; any model: not vendor ffff or 0,
// which mean "no device"), or nullopt when it can.
std::optional<std::string> pci_identity_problem(const std::string& model,
                                                const PciIdentity& identity);

// A configuration space read from an `lspci -xxx` or `lspci -xxxx` dump (the format `lspci -F`
// reads): 64, 256 or 4096 bytes, the rest zero.
struct PciConfigDump {
  std::array<uint8_t, kPciConfigSize> bytes = {};
  size_t size = 0;  // bytes the dump covers: 64, 256 or 4096
};

// Parses `text` (the content of `name`, for messages): an optional device line ("00:1f.0 ISA
// bridge: ..."), then lines "OFFSET: HH HH ..." of 16 bytes each, from offset 0. nullopt with
// "NAME:LINE:COLUMN: what is wrong" in `error` when it does not parse or holds several devices.
std::optional<PciConfigDump> parse_pci_config_dump(const std::string& name, const std::string& text,
                                                   std::string* error);

// One base address register. A 64-bit memory BAR takes two slots (the second has size 0).
struct PciBar {
  uint64_t address = 0;  // 0: not implemented
  uint64_t size = 0;     // a power of two; 0: not implemented
  bool io = false;
  bool is64 = false;
  bool prefetchable = false;
  // The resource flags sysfs shows in the device's "resource" file (IORESOURCE_MEM 0x200,
  // _IO 0x100, _PREFETCH 0x2000, _MEM_64 0x100000, _SIZEALIGN 0x40000), 0 when not implemented.
  uint64_t resource_flags() const;
};

// A virtual function, as `mmiotrace record` lays it out: identity, BARs and configuration
// space. `config` holds the power-on content; `config_size` is what the sysfs `config` file
// offers (256, or 4096 for a PCI Express function: one with the PCI Express capability, or
// whose dump covers 4096 bytes).
struct PciFunction {
  PciAddress address;
  PciIdentity identity;
  std::array<PciBar, kPciBars> bars = {};
  std::array<uint8_t, kPciConfigSize> config = {};
  size_t config_size = kPciLegacyConfigSize;
  uint8_t irq = 0;  // the interrupt line, as the `irq` file shows it
};

// Lays out a function's configuration space: from `dump` when given (identity, capabilities
// and the BAR types it holds; its other BARs and its expansion ROM are cleared, since no model
// answers them), else a type 0 header without capabilities; then `identity` written over it,
// and `bars` (addresses and sizes already chosen) written into their registers. Error: a dump
// of a bridge (header type other than 0).
std::optional<PciFunction> make_pci_function(const PciAddress& address, const PciIdentity& identity,
                                             const std::array<PciBar, kPciBars>& bars,
                                             const PciConfigDump* dump, std::string* error);

// The type, in `dump` (or a 32-bit non-prefetchable memory BAR without one), of BAR `index`:
// address, io, is64 and prefetchable from its register; size 0.
PciBar pci_bar_type(const PciConfigDump* dump, unsigned index);

// Which bits of the configuration space software may change: the command register's enables,
// cache line size and latency timer, the BARs' address bits (so that writing all-ones reads back
// the size), the interrupt line, and the capabilities' and device-specific registers past the
// header, but not the capability headers (ID and next pointer) of either list.
std::array<uint8_t, kPciConfigSize> pci_write_mask(
    const std::array<uint8_t, kPciConfigSize>& config, const std::array<PciBar, kPciBars>& bars);

// A write of `size` bytes at `offset` into `config`, through `mask`: only writable bits change.
void pci_config_write(uint8_t* config, const uint8_t* mask, size_t offset, const uint8_t* bytes,
                      size_t size);

// What `mmiotrace record` tells the shim of each virtual function (one line each, in the
// environment): where it is, the BAR its model answers, and how a driver reaches it.
struct PciAttachment {
  PciAddress address;
  unsigned bar = 0;    // the BAR the model answers
  PciBar layout;       // that BAR's address, size and type
  std::string driver;  // "uio_pci_generic", "vfio-pci", or empty
  int uio = -1;        // N of /dev/uioN (driver uio_pci_generic)
  int group = -1;      // N of /dev/vfio/N (driver vfio-pci)
  std::string model;
  std::string arguments;  // the model's own ARGS (without the PCI keys)
};

// "BDF BAR ADDRESS SIZE FLAGS DRIVER UIO GROUP MODEL[:ARGS]", one line without a newline.
std::string format_pci_attachment(const PciAttachment& attachment);
// nullopt when `line` is not what format_pci_attachment() writes.
std::optional<PciAttachment> parse_pci_attachment(const std::string& line);

// "VVVV:DDDD (class CCCCCC)", for messages.
std::string pci_identity_text(const PciIdentity& identity);

}  // namespace mmiotrace::devices
