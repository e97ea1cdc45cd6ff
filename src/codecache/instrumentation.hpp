// mmiotrace: signal-safe
// The instrumented form of a memory access in translated code: the address is computed and
// checked against a traced region (width-aware); a hit is carried out once on the region's
// alias and logged into the thread's access log (access_log.hpp); a miss runs the instruction
// as it is, on the program's memory. The red zone is stepped over, the scratch registers are
// saved and restored, and the flags are saved around the check when they are live. Internal
// to src/x86 (it sees Zydis).
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

#include "codecache/block_translator.hpp"  // DivertTarget

namespace mmiotrace::codecache {

// The longest sequence build_diverted_access() makes.
inline constexpr size_t kMaxDivertedAccess = 192;

// Whether the instruction is one the code cache instruments inline: MOV, MOVZX, MOVSX or MOVSXD
// between a general-purpose register (not AH to DH) or an immediate and memory addressed by
// 64-bit general-purpose registers other than RSP, with no segment override.
bool can_divert(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands);

// Where, in a sequence build_diverted_access() made, the thread must not be interrupted by
// anything that logs to its access log: from the check for room in the log to the count of the
// access's record (offsets from the sequence's start). The call that empties a full log lies
// inside, but what it calls is outside the code cache, where a signal may run its handler. A
// program signal arriving there is held back until the thread is past it
// (kmmio/signal_deferral.hpp).
struct DivertedAccessLayout {
  uint16_t critical_begin = 0;
  uint16_t critical_end = 0;
};

// Builds the instrumented form of `instruction` (found at `original_pc`, whose bytes are
// `original_bytes`; can_divert() holds) into `out`: position-independent code of at most
// kMaxDivertedAccess bytes. `flags_live`: some
// status flag is live across it, so the check must save them. `log_offset`: the access log's
// offset from the thread pointer (access_log_tls_offset()). Returns the length, 0 on failure.
size_t build_diverted_access(const ZydisDecodedInstruction& instruction,
                             const ZydisDecodedOperand* operands, uintptr_t original_pc,
                             const uint8_t* original_bytes, bool flags_live,
                             const DivertTarget& target, intptr_t log_offset, uint8_t* out,
                             size_t room, DivertedAccessLayout* layout = nullptr);

// The longest sequence build_exit_flush() makes.
inline constexpr size_t kMaxExitFlush = 64;

// Code run where control leaves a block that diverts accesses: when the thread's access log
// holds records, it is flushed (through the thunk), so that no record outlives the visit to
// the cache (a later exec, exit or system call of the thread finds them reported). Keeps the
// red zone, every register and the flags. Position-independent; returns its length, 0 on
// failure.
size_t build_exit_flush(intptr_t log_offset, uint8_t* out, size_t room);

}  // namespace mmiotrace::codecache
