// mmiotrace: signal-safe
// SingleStep, the kernel's strategy: open the faulting page, run the one instruction with the trap
// flag set, catch the SIGTRAP, re-arm. While the page is open other threads' accesses to it go
// unseen; the thread's own asynchronous signals are held back until the step ends.
#pragma once

#include <ucontext.h>

#include "kmmio/epoch_gate.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/thread_context.hpp"

namespace mmiotrace::kmmio {

// Starts a step for a fault on `page`. On success the step owns `ticket` (the thread stays in
// the table gate until the step ends) and the pre handler has run. Returns false when the fault
// is the program's own (the page's protection forbids the access).
bool begin_single_step(ThreadContext& context, EpochGate::Ticket ticket, const ProbeTable& table,
                       FaultPage& page, uintptr_t fault_address, ucontext_t& uc);

// A fault while this thread's step is in progress: the instruction touches another armed page,
// or the page was closed under it by another thread. Returns false when the fault is not ours.
bool continue_single_step(ThreadContext& context, uintptr_t fault_address, ucontext_t& uc);

// The SIGTRAP after the instruction ran: post handler, re-arm, give back flags and mask.
void finish_single_step(ThreadContext& context, ucontext_t& uc);

// The stepped instruction raised a signal that is not ours: undo the step before the program
// sees the signal.
void abort_single_step(ThreadContext& context, ucontext_t& uc);

}  // namespace mmiotrace::kmmio
