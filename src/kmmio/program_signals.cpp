// mmiotrace: signal-safe
// Program dispositions and the hand-over of foreign faults (see program_signals.hpp).
#include "kmmio/program_signals.hpp"

#include <atomic>
#include <cstring>

#include "arch/code_cache.hpp"
#include "core/syscall.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/engine_stats.hpp"

namespace mmiotrace::kmmio {
namespace {

// One disposition as plain words, so that readers can copy it with atomic loads.
struct DispositionWords {
  static constexpr size_t kWords = 2 + sizeof(sigset_t) / 8;
  std::atomic<uint64_t> words[kWords] = {};
};

// Two buffers per signal, switched by a sequence number (a seqlock whose writer never makes
// readers wait: it fills the buffer readers are not using, then publishes it).
struct DispositionSlot {
  std::atomic<uint64_t> sequence{0};
  // Sequence number at which SA_RESETHAND reset the disposition to SIG_DFL from a handler;
  // a later store supersedes it.
  std::atomic<uint64_t> reset_at{~uint64_t{0}};
  DispositionWords buffers[2];
};

// By signal number (1 to kMaxSignal; slot 0 is never used).
constinit DispositionSlot g_slots[kMaxSignal + 1];
constinit std::atomic<bool> g_relayed[kMaxSignal + 1];

DispositionSlot& slot_of(int signo) {
  return g_slots[signo > 0 && signo <= kMaxSignal ? signo : 0];
}

void to_words(const struct sigaction& action, DispositionWords& out) {
  uint64_t raw[DispositionWords::kWords];
  raw[0] = reinterpret_cast<uint64_t>(action.sa_sigaction);
  raw[1] = static_cast<uint64_t>(static_cast<uint32_t>(action.sa_flags));
  std::memcpy(&raw[2], &action.sa_mask, sizeof(sigset_t));
  for (size_t i = 0; i < DispositionWords::kWords; ++i) {
    out.words[i].store(raw[i], std::memory_order_relaxed);
  }
}

void from_words(const DispositionWords& in, struct sigaction* action) {
  uint64_t raw[DispositionWords::kWords];
  for (size_t i = 0; i < DispositionWords::kWords; ++i) {
    raw[i] = in.words[i].load(std::memory_order_relaxed);
  }
  std::memset(action, 0, sizeof(*action));
  action->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(raw[0]);
  action->sa_flags = static_cast<int>(raw[1]);
  std::memcpy(&action->sa_mask, &raw[2], sizeof(sigset_t));
}

void reset_to_default_from_handler(int signo) {
  DispositionSlot& slot = slot_of(signo);
  slot.reset_at.store(slot.sequence.load());
}

// The kernel's struct sigaction for rt_sigaction(2).
struct KernelSigaction {
  uintptr_t handler;
  unsigned long flags;
  uintptr_t restorer;
  uint64_t mask;
};

// Queues `signo` with `info` for this thread; it arrives once the handler returns.
void queue_signal(int signo, siginfo_t* info) {
  siginfo_t copy = *info;
  copy.si_signo = signo;
  sys::syscall6(SYS_rt_tgsigqueueinfo, sys::getpid(), sys::gettid(), signo, sys::as_long(&copy));
}

// Untraced, the kernel would now run the default action for `signo` (for the fault signals,
// terminate with a core dump). Make it happen the same way.
void take_default_action(int signo, siginfo_t* info, ucontext_t* context, bool replays) {
  KernelSigaction default_action = {reinterpret_cast<uintptr_t>(SIG_DFL), 0, 0, 0};
  sys::syscall6(SYS_rt_sigaction, signo, sys::as_long(&default_action), 0, 8);
  sys::sigset_remove(context->uc_sigmask, signo);
  bool refaults = replays && info->si_code > 0 && signo != SIGTRAP;
  if (!refaults) {
    // Not a fault that repeats when the instruction runs again: send it (with its siginfo), to
    // be delivered as soon as this handler returns and the mask is restored.
    if (info->si_code > 0) {
      queue_signal(signo, info);
    } else {
      sys::tgkill(sys::getpid(), sys::gettid(), signo);
    }
  }
  // Otherwise returning re-runs the faulting instruction, which now meets the default action
  // with the kernel's own siginfo.
}

// Runs the program's handler in `action`. It may run translated code whose lookups write this
// thread's region cache: the interrupted code gets it back as it left it.
void run_program_handler(const struct sigaction& action, int signo, siginfo_t* info,
                         void* ucontext) {
  arch::keep_region_cache_across(arch::this_thread_region_cache(), [&] {
    if (action.sa_flags & SA_SIGINFO) {
      action.sa_sigaction(signo, info, ucontext);
    } else {
      action.sa_handler(signo);
    }
  });
}

}  // namespace

void store_program_disposition(int signo, const struct sigaction& action) {
  DispositionSlot& slot = slot_of(signo);
  uint64_t next = slot.sequence.load() + 1;
  to_words(action, slot.buffers[next & 1]);
  slot.sequence.store(next);
}

void load_program_disposition(int signo, struct sigaction* action) {
  DispositionSlot& slot = slot_of(signo);
  for (;;) {
    uint64_t before = slot.sequence.load();
    from_words(slot.buffers[before & 1], action);
    bool reset = slot.reset_at.load() == before;
    if (slot.sequence.load() != before) continue;
    if (reset) {
      std::memset(action, 0, sizeof(*action));
      action->sa_handler = SIG_DFL;
    }
    return;
  }
}

void set_relayed(int signo, bool relayed) {
  if (signo > 0 && signo <= kMaxSignal) g_relayed[signo].store(relayed);
}

bool is_relayed(int signo) {
  return signo > 0 && signo <= kMaxSignal && g_relayed[signo].load(std::memory_order_relaxed);
}

void run_relayed_handler(int signo, siginfo_t* info, void* ucontext) {
  struct sigaction action;
  load_program_disposition(signo, &action);
  auto handler = reinterpret_cast<uintptr_t>(action.sa_handler);
  if (handler == reinterpret_cast<uintptr_t>(SIG_IGN)) return;
  if (handler == reinterpret_cast<uintptr_t>(SIG_DFL)) {
    // The default action, once this handler returns, as untraced; but first, what this thread's
    // translated code has logged goes into the trace.
    flush_logged_accesses();
    take_default_action(signo, info, static_cast<ucontext_t*>(ucontext), /*replays=*/false);
    return;
  }
  // The kernel has set up the mask and the stack the program asked for (the relay was installed
  // with its flags and mask), and reset the relay itself if SA_RESETHAND.
  if (action.sa_flags & SA_RESETHAND) reset_to_default_from_handler(signo);
  run_program_handler(action, signo, info, ucontext);
}

void queue_signal_again(int signo, siginfo_t* info) {
  queue_signal(signo, info);
}

void pass_to_program(int signo, siginfo_t* info, void* ucontext, bool replays) {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  count_passed_on();
  struct sigaction action;
  load_program_disposition(signo, &action);
  bool kernel_fault = info->si_code > 0;
  auto handler = reinterpret_cast<uintptr_t>(action.sa_handler);

  // An ignored fault is fatal all the same (the kernel forces the default action).
  if (handler == reinterpret_cast<uintptr_t>(SIG_DFL) ||
      (kernel_fault && handler == reinterpret_cast<uintptr_t>(SIG_IGN))) {
    take_default_action(signo, info, uc, replays);
    return;
  }
  if (handler == reinterpret_cast<uintptr_t>(SIG_IGN)) return;

  // Run the program's handler with the mask the kernel would have set up for it, except that
  // the fault signals stay deliverable: the engine needs them, and the handler may touch traced
  // memory or leave with siglongjmp().
  sigset_t mask = uc->uc_sigmask;
  for (size_t i = 0; i < sizeof(sigset_t) / sizeof(mask.__val[0]); ++i) {
    mask.__val[i] |= action.sa_mask.__val[i];
  }
  sigset_remove_fault_signals(mask);
  if (action.sa_flags & SA_RESETHAND) reset_to_default_from_handler(signo);
  sys::rt_sigprocmask(SIG_SETMASK, &mask, nullptr);
  run_program_handler(action, signo, info, ucontext);
  // Returning from mmiotrace's handler restores the mask in `ucontext`, as the kernel would.
}

}  // namespace mmiotrace::kmmio

namespace mmiotrace::kmmio {

void deliver_raised(int signo, siginfo_t* info, void* ucontext) {
  if (is_fault_signal(signo)) {
    pass_to_program(signo, info, ucontext, /*replays=*/false);
  } else {
    queue_signal(signo, info);
  }
}

}  // namespace mmiotrace::kmmio
