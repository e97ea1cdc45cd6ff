// mmiotrace: signal-safe
// The event model of a trace (docs/design.md §4): one fixed-layout record per thing that
// happened, filled in by the tracer's handlers and written by a TraceSink (trace_sink.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace::trace {

enum class EventKind : uint8_t {
  Map,        // a traced mapping appeared
  Unmap,      // ... and went away
  Read,       // an instruction read from a traced mapping
  Write,      // ... wrote to it
  Unknown,    // an instruction touched the mapping, but the tracer cannot tell its value
  Mark,       // a text marker
  Lost,       // events that could not be recorded
  PciDevice,  // a PCI device of the traced system: `text` is its PCIDEV line
  Ioctl,      // an ioctl() on a traced file: what the driver asked of the kernel
  Comment,    // a '#' line of a text trace (ftrace's header of the kernel's `trace` file): `text`
  Segment,    // another capture appended to the file starts (its VERSION line, or file header)
};

inline constexpr int kUnknownMapId = -1;
inline constexpr unsigned kMaxEventWidth = 64;
inline constexpr uint32_t kMaxIoctlLogged = 1024;  // bytes of an ioctl argument kept

struct Event {
  EventKind kind = EventKind::Mark;
  uint8_t width = 0;        // Read, Write: bytes (1 to 64)
  uint8_t insn_length = 0;  // Unknown: bytes of the instruction in `insn`
  uint8_t insn[15] = {};
  int32_t map_id = kUnknownMapId;
  int32_t pid = 0;
  int32_t tid = 0;
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  uint64_t phys = 0;     // Map: physical address of the mapping; others: of the access
  uint64_t virt = 0;     // Map: the address the program got; others: of the access
  uint64_t length = 0;   // Map: bytes mapped; Lost: number of events lost
  uint64_t pc = 0;       // the instruction (Read, Write, Unknown) or the caller (Map, Unmap)
  alignas(8) uint8_t value[kMaxEventWidth] = {};  // Read, Write: little-endian, memory order
  const char* text = nullptr;  // Mark, PciDevice, Comment: not owned, valid for write()
  uint32_t text_length = 0;
  // Ioctl (`virt` is the argument, as a pointer or a number):
  int32_t fd = -1;
  uint32_t argument_size = 0;  // bytes the request says its argument has
  uint64_t request = 0;
  int64_t result = 0;               // the return value, or -errno
  uint32_t logged_size = 0;         // bytes of the argument in `before` and `after`
  const uint8_t* before = nullptr;  // the argument as the kernel got it (not owned)
  const uint8_t* after = nullptr;   // ... and as it left it
};

}  // namespace mmiotrace::trace
