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

// What the engine offers the emulator: the memory behind operands, and the reporting of each
// access to its probes. Implemented by the engine; called on the faulting thread only.
class OperandMemory {
 public:
  // Whether [address, address + width) shares a byte with traced memory (an armed page).
  virtual bool traced(uintptr_t address, size_t width) = 0;
  // Whether read() and write() can reach every byte of it (traced bytes need an alias).
  virtual bool available(uintptr_t address, size_t width) = 0;
  // One read / one write of the operand: traced bytes through their backend, the rest from the
  // program's memory. Return kGuardedOk or kGuardedFault (see guarded_access.hpp).
  virtual int read(uintptr_t address, size_t width, uint8_t* out) = 0;
  virtual int write(uintptr_t address, size_t width, const uint8_t* in) = 0;
  // One locked compare-and-exchange (1 to 16 bytes) on memory that lies in one traced region:
  // kGuardedOk (stored), kGuardedMismatch (`expected` now holds the bytes found) or
  // kGuardedFault; -1 when the region cannot do it.
  virtual int compare_exchange(uintptr_t address, size_t width, uint8_t* expected,
                               const uint8_t* desired) = 0;
  // An address at which an instruction may access the operand itself (a passthrough alias that
  // covers it whole), or 0.
  virtual uintptr_t direct_address(uintptr_t address, size_t width) = 0;
  // Reporting to the probes: before an access (for a write, with its value), and after it.
  virtual void before(AccessKind kind, uintptr_t address, size_t width, const uint8_t* value) = 0;
  virtual void after(AccessKind kind, uintptr_t address, size_t width, const uint8_t* value) = 0;

  // The elements of a string instruction in bulk: how many of the next `count` elements of
  // `width` bytes, from `address` on, `step` bytes apart, lie in one traced region whose bytes
  // may be accessed directly, each at `*direct` + (its address - `address`), and whose accesses
  // are reported after the fact, through report_direct(), with no handler to call before them.
  // 0 when there is none: each element then goes through read()/write() and before()/after().
  virtual size_t direct_run(uintptr_t address, size_t width, int64_t step, size_t count,
                            uintptr_t* direct) = 0;
  // Reports an access made directly to such a run, once made.
  virtual void report_direct(AccessKind kind, uintptr_t address, size_t width,
                             const uint8_t* value) = 0;

 protected:
  ~OperandMemory() = default;
};

enum class EmulationStatus : uint8_t {
  Done,         // the instruction completed; RIP is past it
  Interrupted,  // a string instruction stopped early; registers say where, RIP is unchanged
  Unsupported,  // not carried out at all (see `reason`): single-step it instead
  Fault,        // the instruction raises `signal` with `fault`, the frame as before it ran
};

struct EmulationResult {
  EmulationStatus status = EmulationStatus::Done;
  const char* reason = nullptr;  // Unsupported: why, for the trace
  int signal = 0;                // Fault
  siginfo_t fault = {};          // Fault
};

struct CachedInstruction;

// Carries out `instruction`, which faulted at `fault_address`, on the frame `uc`.
EmulationResult emulate(const CachedInstruction& instruction, ucontext_t& uc,
                        uintptr_t fault_address, OperandMemory& memory, EmulationArea& area);

// Called by the engine's fault handler for a fault inside a stub or a guarded access on this
// thread: records the fault in `area` and makes the stub or routine return failure. Returns
// false when the fault happened elsewhere.
bool recover_emulation_fault(int signo, const siginfo_t& info, ucontext_t& uc, EmulationArea& area);

}  // namespace mmiotrace::x86
