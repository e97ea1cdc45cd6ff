// Installing the fault handlers and exchanging the program's dispositions. (Declared in
// engine.hpp, the engine's one interface for the layers above.)
// Normal context: runs from the shim's constructor, register_probe() and sigaction() calls.
#include <dlfcn.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>

#include "kmmio/engine.hpp"
#include "kmmio/fault_handler.hpp"
#include "kmmio/program_signals.hpp"
#include "kmmio/signal_deferral.hpp"
#include "kmmio/syscall_trap.hpp"

namespace mmiotrace::kmmio {
namespace {

using SigactionFunction = int (*)(int, const struct sigaction*, struct sigaction*);

std::mutex g_disposition_mutex;  // serializes installation and every program sigaction()
std::atomic<bool> g_installed{false};

SigactionFunction libc_sigaction() {
  static SigactionFunction function = [] {
    auto found = reinterpret_cast<SigactionFunction>(dlsym(RTLD_NEXT, "sigaction"));
    return found ? found : &::sigaction;
  }();
  return function;
}

struct sigaction engine_action(int signo) {
  struct sigaction action = {};
  action.sa_sigaction = signo == SIGTRAP  ? &on_trap_signal
                        : signo == SIGSYS ? &on_syscall_signal
                                          : &on_fault_signal;
  // SA_NODEFER: a fault inside the handler must reach it again, to be reported (a blocked
  // synchronous fault would kill the process silently). Everything else is blocked while
  // mmiotrace's handler runs; the program's handler gets the mask it asked for.
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
  sigfillset(&action.sa_mask);
  for (int fault_signal : kFaultSignals)
    sigdelset(&action.sa_mask, fault_signal);
  sigdelset(&action.sa_mask, SIGILL);
  sigdelset(&action.sa_mask, SIGFPE);
  return action;
}

}  // namespace

int real_sigaction(int signo, const struct sigaction* action, struct sigaction* old_action) {
  return libc_sigaction()(signo, action, old_action);
}

void install_fault_handlers() {
  if (g_installed.load()) return;
  std::lock_guard lock(g_disposition_mutex);
  if (g_installed.load()) return;
  for (int signo : kFaultSignals) {
    struct sigaction ours = engine_action(signo);
    struct sigaction previous = {};
    real_sigaction(signo, &ours, &previous);
    store_program_disposition(signo, previous);
  }
  g_installed.store(true);
}

bool fault_handlers_installed() {
  return g_installed.load();
}

namespace {

// Signals whose default action ends the process asynchronously (the synchronous ones, SIGILL,
// SIGFPE and SIGSYS, come from an instruction of the program, which never runs in the middle
// of the code cache's logging). Relayed at SIG_DFL too, so that what the dying thread's
// translated code logged is flushed into the trace first.
bool terminates_by_default(int signo) {
  switch (signo) {
    case SIGHUP:
    case SIGINT:
    case SIGQUIT:
    case SIGABRT:
    case SIGUSR1:
    case SIGUSR2:
    case SIGPIPE:
    case SIGALRM:
    case SIGTERM:
    case SIGSTKFLT:
    case SIGXCPU:
    case SIGXFSZ:
    case SIGVTALRM:
    case SIGPROF:
    case SIGIO:
    case SIGPWR:
      return true;
    default:
      return signo >= SIGRTMIN && signo <= SIGRTMAX;
  }
}

bool relayable(int signo, const struct sigaction& action) {
  if (signo <= 0 || signo > kMaxSignal || is_fault_signal(signo) || signo == SIGKILL ||
      signo == SIGSTOP || action.sa_handler == SIG_IGN || action.sa_handler == SIG_ERR) {
    return false;
  }
  return action.sa_handler != SIG_DFL || terminates_by_default(signo);
}

// Installs the relay for `signo`, with the flags and mask of the program's `action` (kept aside);
// the mask never holds the fault signals. The caller holds g_disposition_mutex.
int install_relay(int signo, const struct sigaction& action) {
  store_program_disposition(signo, action);
  struct sigaction relay = action;
  relay.sa_sigaction = &on_program_signal;
  relay.sa_flags |= SA_SIGINFO;
  sigset_remove_fault_signals(relay.sa_mask);
  if (real_sigaction(signo, &relay, nullptr) != 0) return -1;
  set_relayed(signo, true);
  return 0;
}

}  // namespace

int install_program_handler(int signo, const struct sigaction* action, struct sigaction* old_action,
                            bool relay) {
  std::lock_guard lock(g_disposition_mutex);
  struct sigaction previous = {};
  if (is_relayed(signo)) {
    load_program_disposition(signo, &previous);
  } else if (real_sigaction(signo, nullptr, &previous) != 0) {
    return -1;
  }
  if (action != nullptr) {
    if (relay && relayable(signo, *action)) {
      if (install_relay(signo, *action) != 0) return -1;
    } else {
      struct sigaction adjusted = *action;
      sigset_remove_fault_signals(adjusted.sa_mask);
      if (real_sigaction(signo, &adjusted, nullptr) != 0) return -1;
      set_relayed(signo, false);
    }
  }
  if (old_action != nullptr) *old_action = previous;
  return 0;
}

void relay_program_handlers() {
  std::lock_guard lock(g_disposition_mutex);
  for (int signo = 1; signo <= kMaxSignal; ++signo) {
    struct sigaction current = {};
    if (is_relayed(signo) || is_fault_signal(signo) ||
        real_sigaction(signo, nullptr, &current) != 0) {
      continue;
    }
    if (relayable(signo, current) && current.sa_sigaction != &on_program_signal) {
      if (current.sa_handler == SIG_DFL) current.sa_flags = 0;  // (as the kernel reports it)
      install_relay(signo, current);
    }
  }
}

int exchange_program_disposition(int signo, const struct sigaction* action,
                                 struct sigaction* old_action) {
  if (action && (action->sa_handler == SIG_ERR)) {
    errno = EINVAL;
    return -1;
  }
  std::lock_guard lock(g_disposition_mutex);
  struct sigaction previous;
  load_program_disposition(signo, &previous);
  if (action) store_program_disposition(signo, *action);
  if (old_action) *old_action = previous;
  return 0;
}

}  // namespace mmiotrace::kmmio
