// mmiotrace: signal-safe
// The AArch64 side of the architecture seam's instruction names (arch/machine.hpp): the
// faulting instruction decoded (arm64/decoder.hpp) as the engine sees it, the shared cache of
// decoded instructions, and its emulation on the signal frame through the engine's
// OperandMemory (arm64/emulator.hpp does the instruction; this copies the registers in and out,
// makes the accesses through the engine, and turns faults into the signals the program gets);
// and the out-of-line execution of what it does not carry out (arm64/out_of_line.hpp). Built for
// AArch64 only; everything here runs in the engine's SIGSEGV, SIGBUS and SIGTRAP handlers, on
// any thread.
#pragma once

#include <ucontext.h>
#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "arm64/decoder.hpp"
#include "arm64/emulator.hpp"
#include "arm64/guarded_access.hpp"
#include "arm64/out_of_line.hpp"
#include "core/operand_memory.hpp"

namespace mmiotrace::arm64 {

inline constexpr size_t kMaxInstructionLength = 4;

using mmiotrace::AccessKind;
using mmiotrace::reads;
using mmiotrace::writes;

// The memory the instruction accesses, as one operand: all its bytes (a pair's two registers,
// an LD4's four, DC ZVA's block).
struct MemoryOperand {
  AccessKind kind = AccessKind::None;
  uint16_t width = 0;  // bytes
};

struct Instruction {
  uintptr_t pc = 0;
  uint8_t length = 0;  // 4 once decoded
  uint8_t bytes[kMaxInstructionLength] = {};
  DecodeStatus status = DecodeStatus::NotAccess;
  Access access;                     // when status is Access
  uint8_t memory_operand_count = 0;  // 1 when status is Access, else 0
  MemoryOperand memory[1];
};

enum class DecodeResult { Ok, Invalid, Unreadable };

// Reads the instruction word at `pc` without faulting; returns the bytes read (0 or 4).
inline size_t read_code(uintptr_t pc, uint8_t* code) {
  return guarded_load(pc, code, kMaxInstructionLength) == kGuardedOk ? kMaxInstructionLength : 0;
}

// Decodes the word in `code`. Ok for every readable word: what is not a load or store this
// emulator carries out says so in `status`, for the engine's message.
DecodeResult decode(const uint8_t* code, size_t size, uintptr_t pc, Instruction* out);

// The first address `operand` touches, with the registers of `context` before the instruction.
uintptr_t effective_address(const Instruction& instruction, const MemoryOperand& operand,
                            const ucontext_t& context);

// The value of a general-purpose LDR/STR: for a store, the state before it ran; for a load, after.
bool value_from_registers(const Instruction& instruction, const ucontext_t& context,
                          uint8_t* value_out);

// The DC ZVA block size in bytes (from DCZID_EL0), 0 when DC ZVA is prohibited.
unsigned zero_block_bytes();

struct CachedInstruction {
  Instruction instruction;
  // A load or store the emulator does not carry out but that can run out of line: its form and
  // stub (the word, then a BRK back into the engine); stub 0 otherwise.
  OutOfLineForm out_of_line;
  uintptr_t out_of_line_stub = 0;
  // Set by the first thread to run it out of line (the one whose result names it for the trace).
  mutable std::atomic<bool> out_of_line_reported{false};
  // Set by the first thread to report that the instruction cannot be emulated.
  mutable std::atomic<bool> fallback_reported{false};
};

// An instruction running out of line on this thread (out_of_line.hpp): from its stub, with its
// base register pointed at the second mapping, until the BRK after it brings it back.
struct PendingOutOfLine {
  const CachedInstruction* instruction = nullptr;  // null: this entry is free
  uint64_t sp = 0;           // SP when it started (the instruction does not change it)
  uint64_t base_value = 0;   // its base register's value before
  uint64_t address = 0;      // its element 0, the program's (untagged)
  uint64_t alias_begin = 0;  // the bytes it may touch, on the second mapping
  uint64_t alias_bytes = 0;
  uint64_t alias_offset = 0;  // second mapping's address - the program's
  uint8_t base_register = 0;
};
inline constexpr unsigned kMaxPendingOutOfLine = 4;  // nested by the program's signal handlers

// The emulator's per-thread state, kept in the engine's thread context.
struct TrapEmulationState {
  PendingOutOfLine out_of_line[kMaxPendingOutOfLine];
  State registers;
  ExclusiveMonitor monitor;     // LDXR to STXR, across traps
  bool fault_recorded = false;  // `fault` holds a fault recovered from a guarded access
  int fault_signal = 0;
  siginfo_t fault = {};
};

// The instruction at `pc`, decoded once and shared by every thread; null when its word cannot be
// read or the cache (8,192 instructions) is full. A changed word at `pc` gets a new entry.
const CachedInstruction* cached_instruction(uintptr_t pc);
// ... from `code`, `size` bytes read from `pc` (read_code()). Inline for this thread's last
// answer: a loop traps at the same instruction again and again.
namespace detail {
// The instruction word in `code` (A64 instructions are little-endian).
inline uint32_t word_of(const uint8_t* code) {
  uint32_t word = 0;
  std::memcpy(&word, code, sizeof word);
  return word;
}
struct LastInstruction {
  uintptr_t pc;
  uint32_t word;
  const CachedInstruction* entry;  // published: never changed or given back
};
extern constinit thread_local LastInstruction t_last_instruction
    __attribute__((tls_model("initial-exec")));
const CachedInstruction* look_up_instruction(uintptr_t pc, uint32_t word, const uint8_t* code,
                                             size_t size);
}  // namespace detail
inline const CachedInstruction* cached_instruction(uintptr_t pc, const uint8_t* code, size_t size) {
  if (size != kMaxInstructionLength) return nullptr;
  const uint32_t word = detail::word_of(code);
  const detail::LastInstruction& last = detail::t_last_instruction;
  if (last.entry != nullptr && last.pc == pc && last.word == word) return last.entry;
  return detail::look_up_instruction(pc, word, code, size);
}

// What the engine is told back (core/operand_memory.hpp), named apart from the pure emulator's
// own EmulationStatus and EmulationResult (emulator.hpp). Interrupted is never given here.
using TrapStatus = mmiotrace::EmulationStatus;
using TrapResult = mmiotrace::EmulationResult;

// Carries out `instruction`, which faulted at `fault_address`, on the frame `uc`.
TrapResult emulate_trap(const CachedInstruction& instruction, ucontext_t& uc,
                        uintptr_t fault_address, OperandMemory& memory, TrapEmulationState& state);

// Called by the engine's handlers first, for every SIGSEGV, SIGBUS and SIGTRAP: when the thread
// stopped in an out-of-line stub it started, ends that execution (its BRK: the accesses it made
// reported through `reports`, the base register restored and the program resumed after the
// instruction; or the instruction's own fault: the frame as before it, and the signal the
// program gets, at the program's address) and returns ours; otherwise changes nothing.
struct OutOfLineOutcome {
  bool ours = false;
  int signal = 0;  // the instruction's fault, for the program
  siginfo_t fault = {};
};
OutOfLineOutcome finish_out_of_line(int signo, const siginfo_t& info, ucontext_t& uc,
                                    TrapEmulationState& state, OutOfLineReports& reports);
// Whether `pc` lies in an out-of-line stub: what the handlers ask before finish_out_of_line.
// Inline: every trap asks.
namespace detail {
inline constexpr size_t kStubArenaBytes = 8192 * 8;  // a stub (8 bytes) per instruction cache slot
extern std::atomic<uintptr_t> g_stub_arena;          // set once, by the first stub's thread
}  // namespace detail
inline bool in_out_of_line_stub(uintptr_t pc) {
  const uintptr_t arena = detail::g_stub_arena.load(std::memory_order_acquire);
  return arena != 0 && pc >= arena && pc - arena < detail::kStubArenaBytes;
}

// Called by the engine's fault handler for a nested fault on this thread: when it happened in a
// guarded access, records it in `state`, makes the routine return kGuardedFault and returns
// true; false when it happened elsewhere.
bool recover_emulation_fault(int signo, const siginfo_t& info, ucontext_t& uc,
                             TrapEmulationState& state);

}  // namespace mmiotrace::arm64
