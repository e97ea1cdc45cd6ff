// mmiotrace: signal-safe
// What a guarded access returns, on every architecture: the architecture's guarded routines
// (arch/machine.hpp), the backends and the engine's operand memory all answer with these. No
// code of any instruction set here, so that the backends build for every architecture.
#pragma once

namespace mmiotrace::arch {

inline constexpr int kGuardedOk = 0;
inline constexpr int kGuardedFault = 1;
inline constexpr int kGuardedMismatch = 2;     // compare_exchange found other bytes
inline constexpr int kGuardedUnavailable = 3;  // the engine cannot reach this memory

}  // namespace mmiotrace::arch
