// mmiotrace: signal-safe
// What the engine offers an architecture's emulator: the memory behind an instruction's operands,
// and the reporting of each access to the probes; and what the emulator tells it back. The engine
// implements it (src/kmmio); the emulators of src/x86 and src/arm64 call it. Results are the
// arch::kGuarded* codes (arch/guarded_access_status.hpp). No instruction set here.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>

namespace mmiotrace {

// What an access does to memory.
enum class AccessKind : uint8_t { None = 0, Read = 1, Write = 2, ReadWrite = 3 };

constexpr bool reads(AccessKind kind) {
  return (static_cast<int>(kind) & 1) != 0;
}
constexpr bool writes(AccessKind kind) {
  return (static_cast<int>(kind) & 2) != 0;
}

// Implemented by the engine; called on the faulting thread only, from its fault handler.
class OperandMemory {
 public:
  // Whether [address, address + width) shares a byte with traced memory (an armed page).
  virtual bool traced(uintptr_t address, size_t width) = 0;
  // Whether read() and write() can reach every byte of it (traced bytes need an alias).
  virtual bool available(uintptr_t address, size_t width) = 0;
  // One read / one write of the operand: traced bytes through their backend, the rest from the
  // program's memory. Return kGuardedOk or kGuardedFault (arch/guarded_access_status.hpp).
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

  // The PC the accesses reported from now on are made by: an emulator that carries out more
  // than the faulting instruction in one trap (AArch64's exclusive sequences) names each
  // access's own instruction. Until called, the faulting instruction's.
  virtual void set_reported_pc(uintptr_t pc) = 0;

 protected:
  ~OperandMemory() = default;
};

// How an instruction that ran out of line (AArch64: arch::finish_out_of_line) has its accesses
// reported once it has run. Implemented by the engine; called on that thread, from its handler.
class OutOfLineReports {
 public:
  // Calls `give(memory, context)` once, with the memory through which to report (with
  // OperandMemory::after only: the accesses are made) the accesses of the instruction at `pc`,
  // whose first traced byte is `address`; does not call it when its probes are gone.
  virtual void report(uintptr_t pc, uintptr_t address, void (*give)(OperandMemory&, void*),
                      void* context) = 0;

 protected:
  ~OutOfLineReports() = default;
};

// What became of a trapped instruction the emulator was given (arch::emulate()).
enum class EmulationStatus : uint8_t {
  Done,         // the instruction completed; the PC is past it
  Interrupted,  // (x86-64) a string instruction stopped early; registers say where, PC unchanged
  Unsupported,  // not carried out at all (see `reason`): single-stepped instead, or, without
                // single-stepping, its fault handed to the program
  Fault,        // the instruction raises `signal` with `fault`, the frame as before it ran
  OutOfLine,    // (AArch64) not emulated: the frame now runs the instruction itself, out of
                // line, on the traced memory's second mapping; its accesses are reported once
                // it has run (OutOfLineReports). `reason` names its class the first time for
                // an instruction (for the trace), and is null after.
};

struct EmulationResult {
  EmulationStatus status = EmulationStatus::Done;
  const char* reason = nullptr;  // Unsupported: why, for the trace
  int signal = 0;                // Fault
  siginfo_t fault = {};          // Fault
};

}  // namespace mmiotrace
