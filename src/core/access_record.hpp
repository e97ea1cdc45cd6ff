// mmiotrace: signal-safe
// One access to traced memory of 1 to 8 bytes, as the code cache's access log, the emulator's
// batches and the binary format's access runs all hold it before it becomes an event: the one
// record that flows from translated code to the trace file without being converted.
#pragma once

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

}  // namespace mmiotrace
