// mmiotrace: signal-safe
// The architecture seam (arch/machine.hpp) for AArch64: the decoder, emulator, instruction cache
// and guarded accesses of src/arm64, and the registers of the AArch64 signal frame (the kernel's,
// or qemu-user's). AArch64 user space has no trap flag: kHasSingleStep is false, every trapped
// access is emulated, or run out of line on the second mapping (SVE, LD64B/ST64B), and one that
// can be neither is handed to the program with a MARK. Included
// through arch/machine.hpp only.
#pragma once

#include <linux/audit.h>
#include <ucontext.h>
#include <csignal>
#include <cstddef>
#include <cstdint>

#include "arch/guarded_access_status.hpp"
#include "arm64/counter_clock.hpp"
#include "arm64/guarded_access.hpp"
#include "arm64/signal_frame.hpp"
#include "arm64/trap_emulation.hpp"

namespace mmiotrace::arch {

static_assert(kGuardedOk == arm64::kGuardedOk && kGuardedFault == arm64::kGuardedFault &&
              kGuardedMismatch == arm64::kGuardedMismatch &&
              kGuardedUnavailable == arm64::kGuardedUnavailable);

// Registers of an interrupted thread.
inline uintptr_t program_counter(const ucontext_t& uc) {
  return static_cast<uintptr_t>(uc.uc_mcontext.pc);
}
inline void set_program_counter(ucontext_t& uc, uintptr_t pc) {
  uc.uc_mcontext.pc = pc;
}

enum class FaultAccess : uint8_t { Read, Write, Fetch, Unknown };
// From the ESR the kernel leaves in the frame: a data abort's WnR bit, or an instruction abort.
// qemu-user gives no ESR: then the faulting instruction says whether it writes (a store, or a
// read-modify-write), and Unknown when it cannot be read or decoded.
inline FaultAccess fault_access(const ucontext_t& uc) {
  uint64_t esr = 0;
  if (arm64::frame_fault_syndrome(uc, &esr)) {
    if (arm64::instruction_abort(esr)) return FaultAccess::Fetch;
    const uint64_t exception_class = esr >> 26;
    if (exception_class == 0x24 || exception_class == 0x25) {
      return (esr & (uint64_t{1} << 6)) ? FaultAccess::Write : FaultAccess::Read;
    }
  }
  // The shared cache's decoding, which the emulation then finds again.
  const arm64::CachedInstruction* cached = arm64::cached_instruction(program_counter(uc));
  if (cached != nullptr && cached->out_of_line_stub != 0) {
    return cached->out_of_line.writes_memory ? FaultAccess::Write : FaultAccess::Read;
  }
  if (cached == nullptr || cached->instruction.memory_operand_count == 0) {
    return FaultAccess::Unknown;
  }
  const arm64::Instruction& instruction = cached->instruction;
  return arm64::writes(instruction.memory[0].kind) ? FaultAccess::Write : FaultAccess::Read;
}
// An instruction abort in the ESR; no ESR (qemu-user): not known to be one.
inline bool fault_is_fetch(const ucontext_t& uc) {
  uint64_t esr = 0;
  return arm64::frame_fault_syndrome(uc, &esr) && arm64::instruction_abort(esr);
}

// System calls: the AArch64 convention (arguments in X0-X5, the result in X0).
inline void syscall_arguments(const ucontext_t& uc, long out[6]) {
  for (int i = 0; i < 6; ++i)
    out[i] = static_cast<long>(uc.uc_mcontext.regs[i]);
}
inline void set_syscall_result(ucontext_t& uc, long result) {
  uc.uc_mcontext.regs[0] = static_cast<unsigned long>(result);
}
// The architecture a seccomp filter sees in seccomp_data.arch for this process's system calls.
inline constexpr uint32_t kSeccompArchitecture = AUDIT_ARCH_AARCH64;

// Single-stepping: none in AArch64 user space. The engine never steps (kmmio checks
// kHasSingleStep), so these are never called; they exist so that its code compiles unchanged.
inline constexpr bool kHasSingleStep = false;
inline bool single_step_flag(const ucontext_t&) {
  return false;
}
inline void set_single_step_flag(ucontext_t&) {}
inline void clear_single_step_flag(ucontext_t&) {}

// The decoded instruction.
using arm64::AccessKind;
using arm64::decode;
using arm64::DecodeResult;
using arm64::effective_address;
using arm64::Instruction;
using arm64::kMaxInstructionLength;
using arm64::MemoryOperand;
using arm64::read_code;
using arm64::reads;
using arm64::value_from_registers;
using arm64::writes;

// Emulation.
using EmulationState = arm64::TrapEmulationState;
using arm64::cached_instruction;
using arm64::CachedInstruction;
// SVE and LD64B/ST64B accesses run out of line (arm64/out_of_line.hpp).
inline constexpr bool kRunsOutOfLine = true;
using arm64::finish_out_of_line;
using arm64::in_out_of_line_stub;
using arm64::OutOfLineOutcome;
using arm64::recover_emulation_fault;
using mmiotrace::EmulationResult;
using mmiotrace::EmulationStatus;
using mmiotrace::OperandMemory;
inline EmulationResult emulate(const CachedInstruction& instruction, ucontext_t& uc,
                               uintptr_t fault_address, OperandMemory& memory,
                               EmulationState& state) {
  return arm64::emulate_trap(instruction, uc, fault_address, memory, state);
}

// Guarded accesses.
using arm64::guarded_compare_exchange;
using arm64::guarded_load;
using arm64::guarded_store;

// An emulated access's clock: the virtual counter where clock_gettime would be a system call.
using arm64::access_time_ns;

// Generated code: none on AArch64 (no stubs, no code cache).
inline size_t generated_code_bytes() {
  return 0;
}

}  // namespace mmiotrace::arch
