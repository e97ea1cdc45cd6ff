// mmiotrace: signal-safe
// Holding back program signals in the code cache's critical parts (see signal_deferral.hpp).
#include "kmmio/signal_deferral.hpp"

#include <atomic>
#include <cstdint>

#include "arch/code_cache.hpp"
#include "arch/machine.hpp"
#include "core/syscall.hpp"
#include "kmmio/program_signals.hpp"

namespace mmiotrace::kmmio {
namespace {

constexpr int kMaxHeld = 8;

struct HeldSignals {
  int count = 0;
  bool stepping = false;  // the trap flag is set to step out of a critical part
  int signo[kMaxHeld] = {};
  siginfo_t info[kMaxHeld] = {};
};

constinit thread_local HeldSignals t_held __attribute__((tls_model("initial-exec")));

// Holds `signo`, and blocks it in the interrupted context `uc`, so that it is not delivered
// again (to a relay that would have to hold it too) before it is sent again.
bool hold(int signo, const siginfo_t& info, ucontext_t& uc) {
  if (t_held.count == kMaxHeld) return false;  // eight different signals at once
  t_held.signo[t_held.count] = signo;
  t_held.info[t_held.count] = info;
  sys::sigset_add(uc.uc_sigmask, signo);  // more of it waits in the kernel meanwhile
  std::atomic_signal_fence(std::memory_order_seq_cst);
  ++t_held.count;
  return true;
}

// Sends the held signals again, in the order they came, and unblocks them: in `uc` (the context
// mmiotrace's SIGTRAP handler returns to) or, without one, in this thread's mask now (a flush's
// end). Each arrives once the mask allows.
void send_held_again(ucontext_t* uc) {
  int count = t_held.count;
  sigset_t held = {};
  for (int i = 0; i < count; ++i) {
    queue_signal_again(t_held.signo[i], &t_held.info[i]);
    sys::sigset_add(held, t_held.signo[i]);
    if (uc != nullptr) sys::sigset_remove(uc->uc_sigmask, t_held.signo[i]);
  }
  t_held.count = 0;
  if (uc == nullptr) sys::rt_sigprocmask(SIG_UNBLOCK, &held, nullptr);
}

void send_held_again_after_flush() {
  send_held_again(nullptr);
}

}  // namespace

void on_program_signal(int signo, siginfo_t* info, void* ucontext) {
  auto& uc = *static_cast<ucontext_t*>(ucontext);
  arch::AccessLog& log = arch::this_thread_access_log();
  if (log.flushing != 0) {
    if (hold(signo, *info, uc)) {
      log.signals_held = 1;
      return;
    }
  } else if (t_held.stepping || arch::in_critical_part(arch::program_counter(uc))) {
    if (hold(signo, *info, uc)) {
      t_held.stepping = true;
      arch::set_single_step_flag(uc);
      return;
    }
  }
  run_relayed_handler(signo, info, ucontext);
}

bool continue_held_signals(ucontext_t& uc) {
  if (!t_held.stepping) return false;
  if (arch::in_critical_part(arch::program_counter(uc))) {
    arch::set_single_step_flag(uc);  // (a popfq of the sequence may have cleared it)
    return true;
  }
  arch::clear_single_step_flag(uc);
  t_held.stepping = false;
  send_held_again(&uc);
  return true;
}

void hold_signals_during_flushes() {
  arch::set_access_log_flush_done(&send_held_again_after_flush);
}

}  // namespace mmiotrace::kmmio
