// Interposers for the libc functions a program uses to install signal handlers and block
// signals. They keep mmiotrace's SIGSEGV, SIGBUS, SIGTRAP and SIGSYS handlers in place, record
// what the program asked for as its own disposition (used for signals that are not ours), and
// keep those four signals deliverable. Linked into libmmiotrace.so (and the engine's tests) only:
// never into the mmiotrace command itself. Normal context. (No header: these define libc's own
// functions.)
#include <dlfcn.h>
#include <signal.h>

#include <cerrno>

#include "kmmio/code_cache.hpp"
#include "kmmio/engine.hpp"
#include "kmmio/program_signals.hpp"
#include "mmiotrace/mmiotrace.h"

using namespace mmiotrace;
using namespace mmiotrace::kmmio;

namespace {

using SigmaskFunction = int (*)(int, const sigset_t*, sigset_t*);

bool engine_owns(int signo) {
  return is_fault_signal(signo) && fault_handlers_installed();
}

int install(int signo, const struct sigaction* action, struct sigaction* old_action) {
  if (engine_owns(signo)) return exchange_program_disposition(signo, action, old_action);
  if (signo <= 0 || signo > kMaxSignal || (action != nullptr && action->sa_handler == SIG_ERR)) {
    return real_sigaction(signo, action, old_action);  // (its error)
  }
  // Another signal's handler must not block the fault signals (a traced access inside it would
  // then kill the process), and while the code cache is on it runs through the relay.
  if (!fault_handlers_installed() && !is_relayed(signo) && !divert_enabled()) {
    return real_sigaction(signo, action, old_action);
  }
  return install_program_handler(signo, action, old_action, divert_enabled());
}

using SignalHandler = void (*)(int);

SignalHandler install_simple(int signo, SignalHandler handler, int flags, bool block_self) {
  struct sigaction action = {};
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (block_self && signo > 0 && signo < NSIG) sigaddset(&action.sa_mask, signo);
  struct sigaction old_action = {};
  if (install(signo, &action, &old_action) != 0) return SIG_ERR;
  return old_action.sa_handler;
}

// The program's mask change, with the fault signals kept deliverable: blocked, a traced access
// would kill the process. The program sees them unblocked (docs/limitations.md).
int change_mask(SigmaskFunction real, int how, const sigset_t* set, sigset_t* old_set) {
  if (set == nullptr || !fault_handlers_installed() || how == SIG_UNBLOCK) {
    return real(how, set, old_set);
  }
  sigset_t adjusted = *set;
  sigset_remove_fault_signals(adjusted);
  return real(how, &adjusted, old_set);
}

// libc's functions, found when this library loads (or on first use, if a constructor that runs
// before ours blocks signals).
SigmaskFunction real_sigprocmask = nullptr;
SigmaskFunction real_pthread_sigmask = nullptr;

__attribute__((constructor)) void find_mask_functions() {
  real_sigprocmask = reinterpret_cast<SigmaskFunction>(dlsym(RTLD_NEXT, "sigprocmask"));
  real_pthread_sigmask = reinterpret_cast<SigmaskFunction>(dlsym(RTLD_NEXT, "pthread_sigmask"));
}

}  // namespace

extern "C" {

// glibc exports these without declaring them.
int __sigaction(int, const struct sigaction*, struct sigaction*);
SignalHandler bsd_signal(int, SignalHandler);

MMIOTRACE_EXPORT int sigaction(int signo, const struct sigaction* action,
                               struct sigaction* old_action) {
  return install(signo, action, old_action);
}

MMIOTRACE_EXPORT int __sigaction(int signo, const struct sigaction* action,
                                 struct sigaction* old_action) {
  return install(signo, action, old_action);
}

// BSD semantics, as glibc's signal(): restart, block the signal in its handler.
MMIOTRACE_EXPORT SignalHandler signal(int signo, SignalHandler handler) {
  return install_simple(signo, handler, SA_RESTART, true);
}
MMIOTRACE_EXPORT SignalHandler bsd_signal(int signo, SignalHandler handler) {
  return install_simple(signo, handler, SA_RESTART, true);
}
MMIOTRACE_EXPORT SignalHandler ssignal(int signo, SignalHandler handler) {
  return install_simple(signo, handler, SA_RESTART, true);
}
// System V semantics: one-shot, not blocked in its handler.
MMIOTRACE_EXPORT SignalHandler sysv_signal(int signo, SignalHandler handler) {
  return install_simple(signo, handler, SA_RESETHAND | SA_NODEFER, false);
}
MMIOTRACE_EXPORT SignalHandler __sysv_signal(int signo, SignalHandler handler) {
  return install_simple(signo, handler, SA_RESETHAND | SA_NODEFER, false);
}
MMIOTRACE_EXPORT int sigignore(int signo) {
  return install_simple(signo, SIG_IGN, 0, false) == SIG_ERR ? -1 : 0;
}

MMIOTRACE_EXPORT int sigprocmask(int how, const sigset_t* set, sigset_t* old_set) {
  if (real_sigprocmask == nullptr) find_mask_functions();
  return change_mask(real_sigprocmask, how, set, old_set);
}

MMIOTRACE_EXPORT int pthread_sigmask(int how, const sigset_t* set, sigset_t* old_set) {
  if (real_pthread_sigmask == nullptr) find_mask_functions();
  return change_mask(real_pthread_sigmask, how, set, old_set);
}

}  // extern "C"
