// mmiotrace: signal-safe
// Translating the program's code into the code cache, the base of the diversion of hot MMIO
// code: a block of instructions from a given address forward is copied into executable memory
// near it, with every relative branch and RIP-relative operand re-aimed, so that it runs there
// exactly as it did in place. Branches to instructions of the block stay in the cache; every
// other way out (a branch elsewhere, the end of the block, ret, an indirect jump) continues at
// the original address. Blocks are superblocks: a conditional branch does not end one, nor does a
// jump or ret that an earlier branch of the block jumps past (the else of an if).
// Callable from signal handlers: it allocates nothing but code-cache memory, reads the code with
// process_vm_readv (an unreadable page ends the block instead of faulting), takes no lock.
// With instrumentation, the accesses it can (instrumentation.hpp) are checked against the
// regions wherever they are (region_cache.hpp): one translation serves every region. Every other
// memory access is copied as it is (one that touches traced memory faults, and the engine
// emulates it). A translation and its description live in code-cache memory near the code
// (x86/code_arena.hpp) for as long as the process.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace::codecache {

inline constexpr size_t kMaxBlockInstructions = 64;
inline constexpr size_t kMaxBlockBytes = 512;  // of original code

// Why a block ends where it does.
enum class BlockEnd : uint8_t {
  Jump,            // an unconditional direct jump (translated: into the block or out of it)
  Return,          // ret, translated as it is (it returns to an original address)
  IndirectBranch,  // a jump through a register or memory, translated as it is
  Call,            // a call, left to run in place: the block exits to it
  Unsupported,     // an instruction left to run in place: syscall, int, loop, jrcxz, xbegin...
  Limit,           // kMaxBlockInstructions or kMaxBlockBytes reached
  Unreadable,      // the code could not be read or decoded further
};

struct TranslatedInstruction {
  uint16_t original_offset;  // from the block's start
  uint16_t cache_offset;     // from the translation's code
  uint8_t length;            // of the original instruction
  bool diverted;             // instrumented for the divert target
  uint32_t live_flags;       // status flags (flag_liveness.hpp) live before it
  // Diverted: the part of its translation (offsets from cache_offset) where it is between its
  // access and the count of its record (instrumentation.hpp: DivertedAccessLayout).
  uint16_t critical_begin = 0;
  uint16_t critical_end = 0;
};

struct BlockTranslation {
  uintptr_t start = 0;  // original address of the first instruction
  uintptr_t end = 0;    // original address just past the last one translated
  uint8_t* code = nullptr;
  uint32_t body_size = 0;  // the translated instructions; the exit stubs follow them
  uint32_t code_size = 0;  // instructions and exit stubs
  BlockEnd ended_by = BlockEnd::Limit;
  uint16_t instruction_count = 0;
  uint16_t exit_count = 0;      // exit stubs (one per distinct original address left to)
  uint16_t diverted_count = 0;  // instructions instrumented
  // The original addresses the exit stubs lead to (the first kMaxRecordedExits of them).
  static constexpr size_t kMaxRecordedExits = 16;
  uintptr_t exit_targets[kMaxRecordedExits] = {};
  TranslatedInstruction instructions[kMaxBlockInstructions];

  // The original address of the instruction whose translation holds `cache_pc`, or 0 when
  // `cache_pc` is not in the translated instructions (an exit stub, or elsewhere).
  uintptr_t original_pc(uintptr_t cache_pc) const;
  // Where the translation of the original instruction at `pc` begins, or 0 when the block does
  // not hold an instruction that starts at `pc`.
  uintptr_t cache_pc(uintptr_t pc) const;
  // Whether `cache_pc` is inside a diverted instruction's critical part (see
  // TranslatedInstruction).
  bool in_critical_part(uintptr_t cache_pc) const;
  // Whether the instruction at original address `pc` is instrumented.
  bool diverts(uintptr_t pc) const;
  // The translated instruction that starts at original address `pc`, or null.
  const TranslatedInstruction* instruction_at(uintptr_t pc) const;
  // Whether the program's code still holds, at `pc` (an instruction of the block), the
  // instruction the block was translated from. Reads the code in place: the caller knows it is
  // mapped (an access just faulted there).
  bool still_holds(uintptr_t pc) const;
  // The original code the block was made from (end - start bytes).
  uint8_t original[kMaxBlockBytes + 15] = {};
};

// Reads up to `size` bytes of code at `address`, stopping at the first page that cannot be
// read: the number of bytes read, or a negative errno. Entry patches (entry_patch.hpp) read as
// the original bytes they replaced.
long read_code(uint8_t* out, uintptr_t address, size_t size);

// Translates the block at `start` into code-cache memory near it, instrumenting the accesses it
// can when `instrument`. The translation and its description live there as long as the process.
// Null (with `why`) when not even its first instruction can be translated, or when no code-cache
// memory can be had within reach of it.
const BlockTranslation* translate_block(uintptr_t start, const char** why, bool instrument = false);

// The translation for a fault at `site`: the block from the head of the loop `site` is in, when
// the block from `site` branches back a little before it (then the whole loop runs in the
// cache, instead of leaving it at every iteration to come back through a fault), or from `site`;
// the instruction at `site` instrumented either way. Code that is not in a read-only file
// mapping (JIT code, which may change under it) is not translated. Null (with `why`) when it
// cannot be; `lasting`: the reason will hold for this site (trying again will not help).
const BlockTranslation* translate_site(uintptr_t site, const char** why, bool* lasting);

}  // namespace mmiotrace::codecache
