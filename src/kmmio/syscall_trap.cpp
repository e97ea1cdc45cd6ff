// mmiotrace: signal-safe
// The system-call trap's SIGSYS handler (see syscall_trap.hpp).
#include "kmmio/syscall_trap.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "arch/machine.hpp"
#include "core/syscall.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/program_signals.hpp"

namespace mmiotrace::kmmio {
namespace {

// The si_code of a SIGSYS that seccomp raised (SYS_SECCOMP of asm-generic/siginfo.h, which
// glibc's headers do not name and cannot be included with them).
constexpr int kSeccompCode = 1;

// Where the kernel can reach the word at `address`: the same byte of its page's alias when the
// page is armed and has one; `address` itself otherwise (not traced, or a page without memory
// of its own, where the kernel's EFAULT is the answer untraced code would get too).
long reachable(long address) {
  auto at = static_cast<uintptr_t>(address);
  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  const ProbeTable* table = published_table().load();
  const FaultPage* page = table ? table->find_page(at) : nullptr;
  uintptr_t reach = at;
  if (page != nullptr) {
    uintptr_t alias = page->alias.load();
    if (alias != 0) reach = alias + (at - page->page);
  }
  gate.exit(ticket);
  return static_cast<long>(reach);
}

// The futex operations whose fifth argument is a second futex word.
bool has_second_word(long operation) {
  switch (static_cast<int>(operation) & FUTEX_CMD_MASK) {
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_WAKE_OP:
    case FUTEX_CMP_REQUEUE_PI:
    case FUTEX_WAIT_REQUEUE_PI:
      return true;
    default:
      return false;
  }
}

}  // namespace

void on_syscall_signal(int signo, siginfo_t* info, void* ucontext) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  if (info->si_code != kSeccompCode || info->si_errno != kSyscallTrapData) {
    pass_to_program(signo, info, ucontext, /*replays=*/false);
    return;
  }
  long number = info->si_syscall;
  long arguments[6];
  arch::syscall_arguments(*uc, arguments);
  if (number == SYS_futex) {
    arguments[0] = reachable(arguments[0]);
    if (has_second_word(arguments[1])) arguments[4] = reachable(arguments[4]);
  }
  // The call runs with the mask of the code that made it, as untraced: a wait may last, and the
  // thread's signals (a cancellation, a timer) must reach it meanwhile. The handler's own
  // system calls come from mmiotrace's code, which the filter lets through.
  sys::rt_sigprocmask(SIG_SETMASK, &uc->uc_sigmask, nullptr);
  arch::set_syscall_result(*uc, sys::syscall6(number, arguments[0], arguments[1], arguments[2],
                                              arguments[3], arguments[4], arguments[5]));
}

}  // namespace mmiotrace::kmmio
