// mmiotrace: signal-safe
// One access to traced memory, as the code cache's access log, the emulator's batches and the
// binary format's access runs all hold it before it becomes an event: the one record that flows
// from translated code to the trace file without being converted. An access of 1 to 8 bytes is
// one record; a wider one (16, 32 or 64 bytes: a vector register) is followed by continuation
// records that hold its whole value, 32 bytes each (only the code cache's log holds those).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace {

struct AccessRecord {
  uint64_t address;  // the traced (not the alias) address of the access
  uint64_t value;    // the register or immediate: its low `width` bytes are the access's
  uint64_t pc;       // the instruction's address in the program (never a code-cache address)
  uint64_t info;     // bits 0-7 the width in bytes, bit 8 (kAccessWrite) set for a write
};
// Translated code writes these fields at fixed offsets (codecache/instrumentation.cpp).
static_assert(sizeof(AccessRecord) == 32);

inline constexpr uint64_t kAccessWrite = 1 << 8;
inline constexpr uint64_t kAccessWidthMask = 0xff;
// The records an access of `width` bytes takes: itself, and the continuations of a wide one
// (raw bytes of its value, from its first: only the width of the record before tells them).
constexpr size_t access_record_span(uint64_t width) {
  return width <= 8 ? 1 : 1 + (width + 31) / 32;
}

}  // namespace mmiotrace
