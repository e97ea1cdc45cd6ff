// mmiotrace: signal-safe
// Accesses to memory on the traced program's behalf that survive a fault, on an AArch64 host:
// the engine reaches aliases and the program's own memory only through these (as src/x86's on
// x86-64). A fault inside one of them (a truncated file behind an alias, an invalid untraced
// operand) is recovered by the engine's fault handler (recover_guarded_access()): the routine
// returns kGuardedFault, and the caller hands the fault to the program as the instruction itself
// would have raised it. Built for AArch64 only.
#pragma once

#include <ucontext.h>
#include <cstddef>
#include <cstdint>

extern "C" {
int mmiotrace_arm64_guarded_load(const void* source, void* destination, size_t width);
int mmiotrace_arm64_guarded_store(void* destination, const void* source, size_t width);
int mmiotrace_arm64_guarded_compare_exchange(void* address, void* expected, const void* desired,
                                             size_t width);
extern const char mmiotrace_arm64_guarded_begin[];
extern const char mmiotrace_arm64_guarded_end[];
}

namespace mmiotrace::arm64 {

inline constexpr int kGuardedOk = 0;
inline constexpr int kGuardedFault = 1;
inline constexpr int kGuardedMismatch = 2;     // compare_exchange found other bytes
inline constexpr int kGuardedUnavailable = 3;  // a width the routine cannot make

// One access of `width` bytes: one instruction for 1, 2, 4, 8 and 16 bytes, bytes in ascending
// order for other widths. kGuardedOk or kGuardedFault.
inline int guarded_load(uintptr_t source, void* destination, size_t width) {
  return mmiotrace_arm64_guarded_load(reinterpret_cast<const void*>(source), destination, width);
}
inline int guarded_store(uintptr_t destination, const void* source, size_t width) {
  return mmiotrace_arm64_guarded_store(reinterpret_cast<void*>(destination), source, width);
}
// An atomic compare-and-exchange of 1, 2, 4, 8 or 16 bytes (an exclusive pair for 16), aligned;
// kGuardedMismatch leaves the bytes found in `expected`.
inline int guarded_compare_exchange(uintptr_t address, void* expected, const void* desired,
                                    size_t width) {
  return mmiotrace_arm64_guarded_compare_exchange(reinterpret_cast<void*>(address), expected,
                                                  desired, width);
}

// Called by the fault handler for a fault at `uc`'s PC: when the PC is inside a guarded
// routine, makes it return kGuardedFault to its caller and returns true.
bool recover_guarded_access(ucontext_t& uc);

}  // namespace mmiotrace::arm64
