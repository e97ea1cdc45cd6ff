// mmiotrace: signal-safe
// The architecture seam: everything the engine (src/kmmio), the recorder, the shim and the
// backends need to know of the instruction set they run on, and nothing else does. Each
// architecture provides the names below in src/arch/ARCH/machine.hpp, included here for the
// architecture being compiled for; the engine uses only arch::NAME. The code cache has a seam of
// its own (arch/code_cache.hpp), and the status codes of guarded accesses one that holds no code
// (arch/guarded_access_status.hpp). docs/architecture.md, "Architecture seam", says what x86-64
// provides and what AArch64 will.
//
// Registers of an interrupted thread (any context; `uc` is a signal frame):
//   uintptr_t program_counter(const ucontext_t& uc);
//   void set_program_counter(ucontext_t& uc, uintptr_t pc);
//   enum class FaultAccess { Read, Write, Fetch, Unknown };
//   FaultAccess fault_access(const ucontext_t& uc);  what the faulting access was, when the
//       frame says (x86's page-fault error code); Unknown when it does not (qemu-user's AArch64
//       frames carry no ESR): the engine then does not check the page's protection.
//   bool fault_is_fetch(const ucontext_t& uc);  whether the frame says the fault was an
//       instruction fetch (fault_access() == Fetch), without decoding anything
// System calls trapped by seccomp (SIGSYS of SECCOMP_RET_TRAP; the number is in the siginfo):
//   void syscall_arguments(const ucontext_t& uc, long out[6]);
//   void set_syscall_result(ucontext_t& uc, long result);
//   constexpr uint32_t kSeccompArchitecture;  seccomp_data.arch (AUDIT_ARCH_...) of this process
// Single-stepping (x86-64's trap flag; AArch64 user space has none):
//   constexpr bool kHasSingleStep;  when false, the engine emulates every access (whatever the
//       strategy) or hands its fault to the program with a MARK, refuses probes it could only
//       single-step (no alias, no backend), and never calls the three below (which do nothing)
//   bool single_step_flag(const ucontext_t& uc);
//   void set_single_step_flag(ucontext_t& uc);    the thread traps after its next instruction
//   void clear_single_step_flag(ucontext_t& uc);
// The faulting instruction, decoded (for the records and single-stepping):
//   constexpr size_t kMaxInstructionLength;  bytes read at the PC (the code must not lie on an
//       armed page)
//   enum class AccessKind { None, Read, Write, ReadWrite };  bool reads(kind), writes(kind)
//   struct MemoryOperand { kind; width; ... };
//   struct Instruction { length; bytes[]; memory_operand_count; memory[]; ... };
//   enum class DecodeResult { Ok, ... };
//   size_t read_code(uintptr_t pc, uint8_t* code);  up to kMaxInstructionLength bytes, no fault
//   DecodeResult decode(const uint8_t* code, size_t size, uintptr_t pc, Instruction* out);
//   uintptr_t effective_address(const Instruction&, const MemoryOperand&, const ucontext_t&);
//   bool value_from_registers(const Instruction&, const ucontext_t&, uint8_t* value);  the value
//       of a plain load (after it ran) or store (before), when the registers hold it
// Emulation of the faulting instruction (decode, effective address, the access through the
// engine's OperandMemory, register write-back, the PC advanced):
//   struct EmulationState;  the emulator's per-thread scratch, kept in the engine's thread
//       context (initial-exec TLS)
//   class OperandMemory;  implemented by the engine: the memory behind operands, and the
//       reporting of each access to the probes
//   struct CachedInstruction { Instruction instruction; atomic<bool> fallback_reported; ... };
//   const CachedInstruction* cached_instruction(uintptr_t pc);  decoded and planned once, shared
//       by all threads; null when the bytes cannot be read or decoded
//   const CachedInstruction* cached_instruction(uintptr_t pc, const uint8_t* code, size_t size);
//       the same, from bytes read_code() read at `pc` (and perhaps corrected)
//   enum class EmulationStatus { Done, Interrupted, Unsupported, Fault, OutOfLine };
//   struct EmulationResult { status; reason; signal; fault; };
//   EmulationResult emulate(const CachedInstruction&, ucontext_t&, uintptr_t fault_address,
//                           OperandMemory&, EmulationState&);
//   bool recover_emulation_fault(int signo, const siginfo_t&, ucontext_t&, EmulationState&);
//       a fault inside an emulation stub or a guarded access on this thread: recorded, and the
//       stub or routine made to return failure; false when the fault happened elsewhere
//   constexpr bool kRunsOutOfLine;  whether emulate() may answer OutOfLine
//   struct OutOfLineOutcome { bool ours; int signal; siginfo_t fault; };
//   bool in_out_of_line_stub(uintptr_t pc);  whether a handler needs finish_out_of_line
//   OutOfLineOutcome finish_out_of_line(int signo, const siginfo_t&, ucontext_t&,
//                                       EmulationState&, OutOfLineReports&);  called first by
//       every handler: the end of an instruction emulate() left running out of line (OutOfLine:
//       AArch64's SVE and LD64B/ST64B), its accesses reported, and the signal it raised for the
//       program, if any; not ours otherwise
// Guarded accesses (the leaf routines that survive a fault; results in
// arch/guarded_access_status.hpp):
//   int guarded_load(uintptr_t source, void* destination, size_t width);
//   int guarded_store(uintptr_t destination, const void* source, size_t width);
//   int guarded_compare_exchange(uintptr_t address, void* expected, const void* desired,
//                                size_t width);
// The clock of an emulated access's record:
//   uint64_t access_time_ns();  CLOCK_MONOTONIC in nanoseconds, or a reading kept within
//       microseconds of it that costs no system call (AArch64 without a vDSO: qemu-user)
// Generated code:
//   size_t generated_code_bytes();  bytes of code generated so far (stubs, code cache)
#pragma once

#include "arch/guarded_access_status.hpp"

#if defined(__x86_64__)
#include "arch/x86_64/machine.hpp"
#elif defined(__aarch64__)
#include "arch/aarch64/machine.hpp"
#else
#error "the architecture seam (src/arch/machine.hpp) has no implementation for this architecture"
#endif
