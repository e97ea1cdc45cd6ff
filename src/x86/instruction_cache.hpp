// mmiotrace: signal-safe
// Decoded instructions and their emulation plans, by address, shared by every thread: the
// first fault at an address decodes the instruction and builds its stubs; later faults find
// them. Lock-free; entries are never freed (an address whose code changes gets a new entry).
#pragma once

#include <atomic>
#include <cstdint>

#include "x86/decoder.hpp"
#include "x86/emulator.hpp"

namespace mmiotrace::x86 {

enum class PlanKind : uint8_t {
  Unsupported,  // single-step it (reason in `reason`)
  Generic,      // a stub with the traced operand redirected
  Atomic,       // LOCK or XCHG: a stub on a copy, committed with compare-and-exchange
  String,       // MOVS, STOS, LODS, CMPS, SCAS, with or without a REP prefix
};

enum class StringOp : uint8_t { Movs, Stos, Lods, Cmps, Scas };
enum class Repeat : uint8_t { None, WhileEqual, WhileNotEqual };  // REP and REPE are WhileEqual

using StubFunction = int (*)(void* area);

struct EmulationPlan {
  PlanKind kind = PlanKind::Unsupported;
  const char* reason = nullptr;
  // Generic and Atomic: per memory operand, the stub that runs the instruction with that operand
  // at [target] (null when that operand cannot be redirected), and for an implicit operand
  // addressed by a register, the register to point at the target instead (-1: none).
  StubFunction stub[2] = {};
  int8_t substituted_base[2] = {-1, -1};
  uint64_t xstate_mask = 0;
  // A write-only operand that the instruction must write itself (non-temporal, masked and
  // direct stores): the stub runs on the alias for the real store.
  bool self_store = false;
  // A read the instruction makes only of the elements its mask selects (an EVEX load with a
  // mask register, VMASKMOV): left-out elements never fault, even past the end of a file.
  bool masked_read = false;
  GprRef bit_offset;      // BT, BTS, BTR, BTC with a register bit offset
  bool division = false;  // DIV, IDIV: a zero divisor raises SIGFPE as the CPU would
  // String
  StringOp string_op = StringOp::Movs;
  Repeat repeat = Repeat::None;
  bool has_rep = false;
  uint8_t element_width = 0;
};

struct CachedInstruction {
  Instruction instruction;
  EmulationPlan plan;
  // Set by the first thread to report that this instruction is single-stepped.
  mutable std::atomic<bool> fallback_reported{false};
};

// The instruction at `pc`, decoded and planned; null when its bytes cannot be read or decoded,
// or the cache is full.
const CachedInstruction* cached_instruction(uintptr_t pc);
// ... decoded from `code`, `size` bytes read from `pc` (read_code()) and perhaps corrected.
const CachedInstruction* cached_instruction(uintptr_t pc, const uint8_t* code, size_t size);

}  // namespace mmiotrace::x86
