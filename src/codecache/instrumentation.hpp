// mmiotrace: signal-safe
// The instrumented form of a memory access in translated code: the address is computed and
// checked against this thread's region cache (region_cache.hpp), asking the engine when the
// cache cannot tell; an access to traced memory is carried out once on the region's alias and
// logged into the thread's access log (access_log.hpp); any other runs the instruction as it is,
// on the program's memory (where, if it is traced after all, it faults and the engine emulates
// it). The red zone is stepped over, the scratch registers are saved and restored, and the flags
// are saved around the check when they are live. Internal to src/codecache (it sees Zydis).
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

namespace mmiotrace::codecache {

// The longest sequence build_diverted_access() makes.
inline constexpr size_t kMaxDivertedAccess = 768;

// Whether the code cache instruments the instruction inline: one explicit memory operand of 1,
// 2, 4, 8, 16, 32 or 64 bytes (64 where AVX-512 is), addressed by 64-bit general-purpose
// registers other than RSP, with no segment override and no LOCK or REP; not a branch, a stack
// or string instruction, an atomic, a division, a bit test of a register offset, a
// non-temporal, masked or direct store, a gather or scatter, or one that uses RSP. The MOV
// family between a general-purpose register or an immediate and memory is made in place on the
// alias; any other is run on a bounce buffer the operand is read into (and stored back from)
// once, with its own width. Each access is logged as the emulator records it: a read, a write,
// or a read then a write, 16-, 32- and 64-byte ones with their whole value.
bool can_divert(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands);

// Where, in a sequence build_diverted_access() made, the thread must not be interrupted by
// anything that logs to its access log or looks regions up: from the check of its region cache
// to the count of the access's record (offsets from the sequence's start). The calls that empty
// a full log or look a region up lie outside it, and the sequence checks again after them. A
// program signal arriving inside is held back until the thread is past it
// (kmmio/signal_deferral.hpp).
struct DivertedAccessLayout {
  uint16_t critical_begin = 0;
  uint16_t critical_end = 0;
};

// Where translated code finds its thread's state: offsets from the thread pointer (%fs base).
struct ThreadStateOffsets {
  intptr_t log;           // access_log_tls_offset()
  intptr_t region_cache;  // region_cache_tls_offset()
};

// Whether some status flag is live before the instruction (the program's flags must survive
// the checks), and after it (the flags it makes must survive what follows it).
struct FlagLiveness {
  bool before = true;
  bool after = true;
};

// Builds the instrumented form of `instruction` (found at `original_pc`, whose bytes are
// `original_bytes`; can_divert() holds) into `out`: position-independent code of at most
// kMaxDivertedAccess bytes. Returns the length, 0 on failure.
size_t build_diverted_access(const ZydisDecodedInstruction& instruction,
                             const ZydisDecodedOperand* operands, uintptr_t original_pc,
                             const uint8_t* original_bytes, const FlagLiveness& flags,
                             const ThreadStateOffsets& offsets, uint8_t* out, size_t room,
                             DivertedAccessLayout* layout = nullptr);

// The longest sequence build_exit_flush() makes.
inline constexpr size_t kMaxExitFlush = 64;

// Code run where control leaves a block that diverts accesses: when the thread's access log
// holds records, it is flushed (through the thunk), so that no record outlives the visit to
// the cache (a later exec, exit or system call of the thread finds them reported). Keeps the
// red zone, every register and the flags. Position-independent; returns its length, 0 on
// failure.
size_t build_exit_flush(intptr_t log_offset, uint8_t* out, size_t room);

}  // namespace mmiotrace::codecache
