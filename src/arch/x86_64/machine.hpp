// mmiotrace: signal-safe
// The architecture seam (arch/machine.hpp) for x86-64: the decoder, emulator, instruction cache,
// guarded accesses and code arena of src/x86, and the registers of the kernel's x86-64 signal
// frame. Included through arch/machine.hpp only.
#pragma once

#include <linux/audit.h>
#include <ucontext.h>
#include <csignal>
#include <cstddef>
#include <cstdint>

#include "arch/guarded_access_status.hpp"
#include "core/monotonic_clock.hpp"
#include "x86/code_arena.hpp"
#include "x86/decoder.hpp"
#include "x86/emulator.hpp"
#include "x86/guarded_access.hpp"
#include "x86/instruction_cache.hpp"

namespace mmiotrace::arch {

static_assert(kGuardedOk == x86::kGuardedOk && kGuardedFault == x86::kGuardedFault &&
              kGuardedMismatch == x86::kGuardedMismatch &&
              kGuardedUnavailable == x86::kGuardedUnavailable);

// Registers of an interrupted thread.
inline uintptr_t program_counter(const ucontext_t& uc) {
  return static_cast<uintptr_t>(uc.uc_mcontext.gregs[REG_RIP]);
}
inline void set_program_counter(ucontext_t& uc, uintptr_t pc) {
  uc.uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
}

enum class FaultAccess : uint8_t { Read, Write, Fetch, Unknown };
// From the page-fault error code the kernel leaves in gregs[REG_ERR].
inline FaultAccess fault_access(const ucontext_t& uc) {
  constexpr unsigned long kFaultWasWrite = 0x2;
  constexpr unsigned long kFaultWasFetch = 0x10;
  auto error = static_cast<unsigned long>(uc.uc_mcontext.gregs[REG_ERR]);
  if (error & kFaultWasFetch) return FaultAccess::Fetch;
  if (error & kFaultWasWrite) return FaultAccess::Write;
  return FaultAccess::Read;
}
inline bool fault_is_fetch(const ucontext_t& uc) {
  return fault_access(uc) == FaultAccess::Fetch;
}

// System calls: the x86-64 syscall convention (arguments in RDI, RSI, RDX, R10, R8, R9; the
// result in RAX).
inline void syscall_arguments(const ucontext_t& uc, long out[6]) {
  const greg_t* registers = uc.uc_mcontext.gregs;
  out[0] = registers[REG_RDI];
  out[1] = registers[REG_RSI];
  out[2] = registers[REG_RDX];
  out[3] = registers[REG_R10];
  out[4] = registers[REG_R8];
  out[5] = registers[REG_R9];
}
inline void set_syscall_result(ucontext_t& uc, long result) {
  uc.uc_mcontext.gregs[REG_RAX] = result;
}
// The architecture a seccomp filter sees in seccomp_data.arch for this process's system calls.
inline constexpr uint32_t kSeccompArchitecture = AUDIT_ARCH_X86_64;

// Single-stepping: the trap flag of RFLAGS.
inline constexpr bool kHasSingleStep = true;
inline constexpr greg_t kTrapFlag = 0x100;
inline bool single_step_flag(const ucontext_t& uc) {
  return (uc.uc_mcontext.gregs[REG_EFL] & kTrapFlag) != 0;
}
inline void set_single_step_flag(ucontext_t& uc) {
  uc.uc_mcontext.gregs[REG_EFL] |= kTrapFlag;
}
inline void clear_single_step_flag(ucontext_t& uc) {
  uc.uc_mcontext.gregs[REG_EFL] &= ~kTrapFlag;
}

// The decoded instruction.
using x86::AccessKind;
using x86::decode;
using x86::DecodeResult;
using x86::effective_address;
using x86::Instruction;
using x86::kMaxInstructionLength;
using x86::MemoryOperand;
using x86::read_code;
using x86::reads;
using x86::value_from_registers;
using x86::writes;

// Emulation.
using EmulationState = x86::EmulationArea;
using x86::cached_instruction;
using x86::CachedInstruction;
using x86::emulate;
using x86::EmulationResult;
using x86::EmulationStatus;
using x86::OperandMemory;
using x86::recover_emulation_fault;
// Nothing runs out of line on x86-64: the stubs run inside the handler.
inline constexpr bool kRunsOutOfLine = false;
struct OutOfLineOutcome {
  bool ours = false;
  int signal = 0;
  siginfo_t fault = {};
};
inline bool in_out_of_line_stub(uintptr_t) {
  return false;
}
inline OutOfLineOutcome finish_out_of_line(int, const siginfo_t&, ucontext_t&, EmulationState&,
                                           mmiotrace::OutOfLineReports&) {
  return {};
}

// Guarded accesses.
using x86::guarded_compare_exchange;
using x86::guarded_load;
using x86::guarded_store;

// An emulated access's clock: clock_gettime, which the vDSO serves without a system call.
inline uint64_t access_time_ns() {
  return monotonic_ns();
}

// Generated code: the x86 code arena holds the stubs and the code cache.
inline size_t generated_code_bytes() {
  return x86::near_code_bytes();
}

}  // namespace mmiotrace::arch
