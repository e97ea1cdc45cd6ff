// mmiotrace: signal-safe
// Accesses to memory on the traced program's behalf that survive a fault: the x86 emulator
// reaches aliases and the program's own memory only through these. A fault inside one of them
// (a truncated file behind an alias, an invalid untraced operand) is recovered by the engine's
// fault handler (recover_guarded_access()), and the routine returns kGuardedFault; the caller
// then hands the fault to the program as the instruction itself would have raised it.
#pragma once

#include <ucontext.h>
#include <csignal>
#include <cstddef>
#include <cstdint>

extern "C" {
int mmiotrace_guarded_load(const void* source, void* destination, size_t width, int avx512);
int mmiotrace_guarded_store(void* destination, const void* source, size_t width, int avx512);
int mmiotrace_guarded_compare_exchange(void* address, void* expected, const void* desired,
                                       size_t width);
extern const char mmiotrace_guarded_begin[];
extern const char mmiotrace_guarded_cmpxchg16b[];
extern const char mmiotrace_guarded_end[];
}

namespace mmiotrace::x86 {

inline constexpr int kGuardedOk = 0;
inline constexpr int kGuardedFault = 1;
inline constexpr int kGuardedMismatch = 2;     // compare_exchange found other bytes
inline constexpr int kGuardedUnavailable = 3;  // the engine cannot reach this memory

// Whether the CPU (and the kernel) let us use AVX-512 for 64-byte accesses. Any context.
bool has_avx512();

// One access of `width` bytes (one instruction for 1 to 64 bytes). Return kGuardedOk or
// kGuardedFault.
inline int guarded_load(uintptr_t source, void* destination, size_t width) {
  return mmiotrace_guarded_load(reinterpret_cast<const void*>(source), destination, width,
                                has_avx512());
}
inline int guarded_store(uintptr_t destination, const void* source, size_t width) {
  return mmiotrace_guarded_store(reinterpret_cast<void*>(destination), source, width, has_avx512());
}
// A locked compare-and-exchange of 1, 2, 4, 8 or 16 bytes; kGuardedMismatch leaves the bytes
// found in `expected`.
inline int guarded_compare_exchange(uintptr_t address, void* expected, const void* desired,
                                    size_t width) {
  return mmiotrace_guarded_compare_exchange(reinterpret_cast<void*>(address), expected, desired,
                                            width);
}

// Called by the fault handler for a fault at `uc`'s PC: when the PC is inside a guarded
// routine, makes it return kGuardedFault to its caller and returns true.
bool recover_guarded_access(ucontext_t& uc);

}  // namespace mmiotrace::x86
