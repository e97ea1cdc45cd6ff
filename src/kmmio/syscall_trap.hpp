// mmiotrace: signal-safe
// The system-call trap: system calls that glibc makes inside its own code, where no interposer
// can reach them, on memory the program may have traced (the futex word of a process-shared
// mutex in a traced file). The kernel cannot read an armed page (PROT_NONE) and would fail them
// with EFAULT; a seccomp filter sends them to mmiotrace's SIGSYS handler instead, which makes
// the call on the pages' aliases. install_syscall_trap() (engine.hpp) installs the filter.
#pragma once

#include <csignal>

namespace mmiotrace::kmmio {

// The SECCOMP_RET_DATA of the trap: what tells mmiotrace's SIGSYS from the program's own.
inline constexpr int kSyscallTrapData = 0x6d6d;

// SIGSYS, from install_fault_handlers(): a trapped system call is made on the aliases and its
// result put where the program finds it; any other SIGSYS goes to the program's disposition.
// Signal context only, on the thread that took it.
void on_syscall_signal(int signo, siginfo_t* info, void* ucontext);

}  // namespace mmiotrace::kmmio
