// The bookkeeping markers mmiotrace writes into a trace beside the user's own, as MARK lines
// (docs/trace-format.md, "Markers mmiotrace writes"): one writer and one parser for each, so that
// the shim that writes them and the tools that read them (dump, report, replay) agree on one
// form. Normal context.
//   device SPEC is map N              the mapping with map id N is the virtual device SPEC
//                                     (MODEL[:ARGS]@PATH, as --device takes it)
//   pci BDF config KIND 0xOFFSET HEX  bytes of virtual PCI function BDF's configuration space:
//                                     KIND "contents" (its power-on state, written when the
//                                     trace starts), "read" or "write" (a program's access)
//   vfio SUBJECT ACTION 0xVALUE...    what a program asked of the emulated VFIO of a virtual PCI
//                                     function (SUBJECT its BDF) or, for a request it does not
//                                     implement, of a VFIO descriptor (SUBJECT its kind)
//   module PID 0xLOW-0xHIGH 0xBASE [build-id=HEX] PATH
//                                     process PID has the ELF file PATH loaded at BASE, its
//                                     segments spanning [LOW, HIGH); HEX is the file's GNU
//                                     build ID, when it has one (as raw bytes, in hex;
//                                     traces of mmiotrace 0.2.0 lack it)
//   arch PID NAME                     process PID runs NAME's instructions ("x86_64",
//                                     "aarch64": as `uname -m` names them); written before the
//                                     process's first module marker. A process without one
//                                     is x86-64's (the kernel's traces, mmiotrace 0.2.0's)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mmiotrace::trace {

struct DeviceMarker {
  std::string spec;  // MODEL[:ARGS]@PATH; devices::parse_device_spec() splits it
  int map_id = 0;    // positive
};

// The marker's text, ending in a newline.
std::string format_device_marker(const DeviceMarker& marker);
// nullopt when `text` (with or without its newline) is not a device marker.
std::optional<DeviceMarker> parse_device_marker(std::string_view text);

struct ModuleMarker {
  int pid = 0;
  uint64_t lowest = 0;   // of its loaded segments
  uint64_t highest = 0;  // just past them
  uint64_t base = 0;     // the load bias: an address in the file is base + its virtual address
  std::string path;      // absolute; may hold spaces, never a newline
  std::string build_id;  // the file's GNU build ID as raw bytes; empty when unknown
};
// A build ID longer than this is not one (GNU ld writes 16 or 20 bytes).
inline constexpr size_t kMaxBuildIdBytes = 64;

// The marker's text, ending in a newline.
std::string format_module_marker(const ModuleMarker& marker);
// nullopt when `text` (with or without its newline) is not a module marker.
std::optional<ModuleMarker> parse_module_marker(std::string_view text);

struct ArchitectureMarker {
  int pid = 0;
  std::string name;  // 1 to kMaxArchitectureName of [a-z0-9_]
};
inline constexpr size_t kMaxArchitectureName = 32;

// The marker's text, ending in a newline.
std::string format_architecture_marker(const ArchitectureMarker& marker);
// nullopt when `text` (with or without its newline) is not an architecture marker.
std::optional<ArchitectureMarker> parse_architecture_marker(std::string_view text);

struct PciConfigMarker {
  std::string function;  // "DDDD:BB:DD.F"
  std::string kind;      // "contents", "read" or "write"
  uint32_t offset = 0;
  std::string bytes;  // raw bytes, at most kMaxPciConfigMarkerBytes
};
inline constexpr size_t kMaxPciConfigMarkerBytes = 1024;
// A function's configuration space (PCI Express's extended one): no marker reaches past it, so
// that a trace cannot make a reader allocate more.
inline constexpr size_t kPciConfigSpaceSize = 4096;

// The marker's text, ending in a newline.
std::string format_pci_config_marker(const PciConfigMarker& marker);
// nullopt when `text` (with or without its newline) is not a PCI configuration marker.
std::optional<PciConfigMarker> parse_pci_config_marker(std::string_view text);

// What a program asked of the emulated VFIO (`record --pci ...,driver=vfio-pci`):
//   BDF dma-map 0xIOVA 0xSIZE 0xVADDR 0xFLAGS  the container of BDF's group mapped VADDR at IOVA
//                                              (FLAGS: 1 the device may read, 2 write)
//   BDF dma-unmap 0xIOVA 0xSIZE                ... and unmapped it
//   BDF reset                                  the device was reset (VFIO_DEVICE_RESET)
//   BDF irqs 0xINDEX 0xSTART 0xCOUNT 0xFLAGS   VFIO_DEVICE_SET_IRQS (no model raises one yet)
//   KIND unimplemented 0xREQUEST               an ioctl the emulation does not implement, on a
//                                              descriptor of KIND container, group or device;
//                                              named once per process
struct VfioMarker {
  std::string subject;  // "DDDD:BB:DD.F", or the descriptor's kind
  std::string action;   // "dma-map", "dma-unmap", "reset", "irqs", "unimplemented"
  std::vector<uint64_t> values;
};

// The marker's text, ending in a newline.
std::string format_vfio_marker(const VfioMarker& marker);
// nullopt when `text` (with or without its newline) is not a VFIO marker.
std::optional<VfioMarker> parse_vfio_marker(std::string_view text);

}  // namespace mmiotrace::trace
