// mmiotrace: signal-safe
// mmiotrace's handlers of SIGSEGV, SIGBUS and SIGTRAP (the kernel's kmmio_handler and
// post_kmmio_handler), installed by install_fault_handlers() (handler_install.cpp): each decides
// whether its signal belongs to a probe, carries the access out with the strategy, or hands the
// signal to the program (program_signals.hpp). Signal context only, on the thread that took it.
#pragma once

#include <csignal>

namespace mmiotrace::kmmio {

// SIGSEGV and SIGBUS: a fault on an armed page is an access to carry out.
void on_fault_signal(int signo, siginfo_t* info, void* ucontext);
// SIGTRAP: the end of a single step, an int3 of an entry patch being made, or a step out of a
// diverted access with signals held.
void on_trap_signal(int signo, siginfo_t* info, void* ucontext);

}  // namespace mmiotrace::kmmio
