// mmiotrace: signal-safe
// The program's own dispositions of SIGSEGV, SIGBUS, SIGTRAP and SIGSYS, kept aside while
// mmiotrace's handlers own those signals, and the hand-over of faults that are not ours: to the
// program's handler with the mask it asked for, or to the default action with the same core dump
// and exit status as untraced.
#pragma once

#include <csignal>
#include <cstdint>

#include "core/syscall.hpp"

namespace mmiotrace::kmmio {

// SIGSYS: the system-call trap's (syscall_trap.hpp).
inline constexpr int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGTRAP, SIGSYS};
constexpr bool is_fault_signal(int signo) {
  return signo == SIGSEGV || signo == SIGBUS || signo == SIGTRAP || signo == SIGSYS;
}

inline void sigset_remove_fault_signals(sigset_t& set) {
  for (int signo : kFaultSignals)
    sys::sigset_remove(set, signo);
}

inline constexpr int kMaxSignal = 64;

// The program's dispositions: of the fault signals, whose handlers are mmiotrace's, and of the
// signals whose handlers are relayed (signal_deferral.hpp) while the code cache is on.
// Writers: normal context, serialized by the caller (the sigaction interposer's lock).
void store_program_disposition(int signo, const struct sigaction& action);
// Any context, including signal handlers.
void load_program_disposition(int signo, struct sigaction* action);

// Whether `signo`'s handler in the kernel is the relay (on_program_signal), the program's kept
// aside. Set in normal context under the interposer's lock; read from any context.
void set_relayed(int signo, bool relayed);
bool is_relayed(int signo);

// Runs the program's handler of a relayed signal, as the kernel would have (from the relay).
void run_relayed_handler(int signo, siginfo_t* info, void* ucontext);

// Sends `signo` with `info` to this thread again: it arrives once it is unblocked.
void queue_signal_again(int signo, siginfo_t* info);

// The signal was not caused by a probe: deliver it as the kernel would have, untraced. Called
// from mmiotrace's handler for `signo`, outside any handler frame. `replays`: running the
// faulting instruction again raises the same fault (a real fault); otherwise (a signal sent, or
// one the emulator found) the default action needs the signal sent again. One difference
// remains: the fault signals are never blocked under mmiotrace, in the program's handler either.
void pass_to_program(int signo, siginfo_t* info, void* ucontext, bool replays);

// A signal raised by an emulated instruction, with the frame as it was before the instruction:
// the fault signals go to pass_to_program(); others are queued, to arrive as the handler returns.
void deliver_raised(int signo, siginfo_t* info, void* ucontext);

}  // namespace mmiotrace::kmmio
