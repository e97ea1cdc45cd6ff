// mmiotrace: signal-safe
// Holding back program signals that arrive while the thread is in the middle of logging a
// diverted access, so that the program's handler, which may run translated code that logs
// accesses of its own, never interleaves with that log (docs/code-cache.md, "Signals").
//
// While the code cache is on, the program's handlers of every signal but the fault signals are
// relayed: the kernel runs on_program_signal(), which runs the program's handler as the kernel
// would have, unless the thread was interrupted
//  - in the critical part of a diverted access (codecache/instrumentation.hpp): the signal is held,
//  the
//    trap flag set, and each single step checks whether the thread is past that part; once it is,
//    the held signals are sent again and arrive there;
//  - inside a flush of its access log: the signal is held, and sent again when the flush is over.
// Per thread, from the thread's own signal handlers.
#pragma once

#include <csignal>

namespace mmiotrace::kmmio {

// The relay: the handler the kernel has for a program's relayed signal.
void on_program_signal(int signo, siginfo_t* info, void* ucontext);

// From mmiotrace's SIGTRAP handler: when this thread is stepping out of a critical part with
// signals held, takes the trap (keeps stepping, or ends the step and sends the held signals
// again) and returns true.
bool continue_held_signals(ucontext_t& uc);

// Makes divert-log flushes send the signals held during them (called when diversion is enabled).
void hold_signals_during_flushes();

}  // namespace mmiotrace::kmmio
