// mmiotrace: signal-safe
// The emulator: carries out one trapped instruction without opening its page. The traced
// operand is read from (or written to) its backend exactly once with the instruction's own
// width; the instruction itself runs as a re-encoded copy whose memory operand points at a
// bounce buffer (or at the alias), with the interrupted registers, flags and vector state loaded
// from the signal frame and saved back to it. String instructions and locked read-modify-writes
// have their own paths. Everything here runs inside the engine's SIGSEGV handler.
#pragma once

#include <ucontext.h>
#include <csignal>
#include <cstddef>
#include <cstdint>

#include "core/operand_memory.hpp"
#include "x86/decoder.hpp"

namespace mmiotrace::x86 {

// The emulator's per-thread scratch state (kept in the engine's thread context). The generated
// stubs address its fields by offset.
struct alignas(64) EmulationArea {
  uint64_t gpr[16] = {};  // guest registers in encoding order: RAX, RCX, ..., R15
  uint64_t rflags = 0;
  uint64_t target = 0;  // the address the redirected operand points at
  uint64_t host_rsp = 0;
  uint64_t xstate = 0;       // the frame's XSAVE (or FXSAVE) area, when the stub needs it
  uint64_t xstate_mask = 0;  // XRSTOR/XSAVE requested-feature bitmap
  uint32_t host_mxcsr = 0;
  uint16_t host_fcw = 0;
  bool in_stub = false;         // a stub runs: a fault in generated code is the instruction's
  bool fault_recorded = false;  // `fault` holds a fault recovered from a stub or guarded access
  int fault_signal = 0;
  siginfo_t fault = {};
  alignas(64) uint8_t bounce[192] = {};  // the operand, at the original address modulo 64
};

// What the engine offers the emulator (core/operand_memory.hpp).
using OperandMemory = mmiotrace::OperandMemory;

// What it tells the engine back (core/operand_memory.hpp).
using mmiotrace::EmulationResult;
using mmiotrace::EmulationStatus;

struct CachedInstruction;

// Carries out `instruction`, which faulted at `fault_address`, on the frame `uc`.
EmulationResult emulate(const CachedInstruction& instruction, ucontext_t& uc,
                        uintptr_t fault_address, OperandMemory& memory, EmulationArea& area);

// Called by the engine's fault handler for a fault inside a stub or a guarded access on this
// thread: records the fault in `area` and makes the stub or routine return failure. Returns
// false when the fault happened elsewhere.
bool recover_emulation_fault(int signo, const siginfo_t& info, ucontext_t& uc, EmulationArea& area);

}  // namespace mmiotrace::x86
