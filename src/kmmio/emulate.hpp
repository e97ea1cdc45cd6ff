// mmiotrace: signal-safe
// The Emulate strategy: the engine's side of the x86 emulator. It gives the emulator the
// memory behind operands (probes' backends, page aliases, the program's own memory), reports
// each access to the probes' handlers, and says when an instruction is single-stepped instead.
#pragma once

#include <ucontext.h>
#include <csignal>

#include "arch/machine.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/thread_context.hpp"

namespace mmiotrace::kmmio {

struct EmulationOutcome {
  bool handled = false;  // false: single-step it
  int signal = 0;        // when handled: a signal the instruction raised, to deliver, or 0
  siginfo_t fault = {};
};

// Emulates the instruction that faulted at `fault_address`, inside the table gate.
EmulationOutcome emulate_access(ThreadContext& context, const ProbeTable& table,
                                uintptr_t fault_address, ucontext_t& uc);

// Asked first by every handler: ends an instruction the emulator left running out of line
// (AArch64), its accesses reported to the probes (arch::finish_out_of_line).
arch::OutOfLineOutcome finish_out_of_line(ThreadContext& context, int signo, const siginfo_t& info,
                                          ucontext_t& uc);

}  // namespace mmiotrace::kmmio
