// mmiotrace: signal-safe
// What stands behind a traced region (docs/design.md §3): each call is one access of the
// device, made by the emulator from a signal handler on any thread. `offset` counts from the
// region's first byte. Results are arch::kGuardedOk, kGuardedFault or kGuardedMismatch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace::backend {

class Backend {
 public:
  // One read or write of `width` bytes (one instruction for 1, 2, 4, 8, 16, 32 and 64 bytes).
  virtual int read(uint64_t offset, size_t width, uint8_t* out) = 0;
  virtual int write(uint64_t offset, size_t width, const uint8_t* in) = 0;
  // A locked compare-and-exchange of 1, 2, 4, 8 or 16 bytes; -1 when the backend has none.
  virtual int compare_exchange(uint64_t offset, size_t width, uint8_t* expected,
                               const uint8_t* desired) = 0;
  // Where an instruction may access the region's bytes itself, or 0.
  virtual uintptr_t direct_address(uint64_t offset) = 0;

 protected:
  ~Backend() = default;
};

}  // namespace mmiotrace::backend
