// mmiotrace: signal-safe
// The SIGSEGV, SIGBUS and SIGTRAP handlers (see fault_handler.hpp).
#include "kmmio/fault_handler.hpp"

#include <sys/mman.h>

#include <cerrno>

#include "arch/code_cache.hpp"
#include "arch/machine.hpp"
#include "core/diagnostics.hpp"
#include "core/syscall.hpp"
#include "kmmio/access_description.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/emulate.hpp"
#include "kmmio/engine_settings.hpp"
#include "kmmio/engine_stats.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/program_signals.hpp"
#include "kmmio/signal_deferral.hpp"
#include "kmmio/single_step.hpp"
#include "kmmio/thread_context.hpp"

namespace mmiotrace::kmmio {
namespace {

class ErrnoGuard {
 public:
  ErrnoGuard() : saved_(errno) {}
  ~ErrnoGuard() { errno = saved_; }

 private:
  int saved_;
};

uintptr_t pc_of(const ucontext_t& uc) {
  return arch::program_counter(uc);
}

// A fault inside mmiotrace's own handler frame that is not an emulated instruction's: a probe
// handler touched traced memory, or mmiotrace itself is broken. Say so; the fault then goes on
// as a foreign one (the kernel's "recursive probe hit ... Ignoring", without the deadlock).
void report_recursive_fault(int signo, const siginfo_t& info, const ucontext_t& uc) {
  count_recursive();
  Diagnostic line;
  line.text(signo == SIGTRAP ? "trap" : "fault")
      .text(" at ")
      .hex0x(reinterpret_cast<uintptr_t>(info.si_addr))
      .text(" (pc ")
      .hex0x(pc_of(uc))
      .text(
          ") inside mmiotrace's own signal handler: a probe handler touched traced memory, or "
          "mmiotrace has a bug; passing it on");
  line.emit();
}

// What became of a signal in mmiotrace's handler.
struct Disposal {
  bool ours = false;  // dealt with; nothing for the program
  int raised = 0;     // ... except this signal, which the emulated instruction raised
  siginfo_t raised_info = {};
};

// A fault on an armed page: carry out the access with the strategy.
Disposal handle_armed_page_fault(ThreadContext& context, uintptr_t address, ucontext_t& uc) {
  Disposal disposal;
  if (context.step.active) {
    disposal.ours = continue_single_step(context, address, uc);
    return disposal;
  }
  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  const ProbeTable* table = published_table().load();
  FaultPage* page = table ? table->find_page(address) : nullptr;
  if (page == nullptr || page->protection.load() == PROT_NONE ||
      !protection_allows(page->protection.load(), uc)) {
    gate.exit(ticket);
    return disposal;
  }
  disposal.ours = true;
  if (page->retiring.load()) {
    // The registry is disarming this page right now; run the instruction again.
    gate.exit(ticket);
    return disposal;
  }
  // A page without an alias (its region was reported when it was registered) is single-stepped;
  // a page behind a device model or a replay has only its backend, and is always emulated.
  // Without single-stepping (AArch64) every access is emulated, whatever the strategy.
  const bool emulated = current_strategy() == MMIOTRACE_STRATEGY_EMULATE || !arch::kHasSingleStep;
  if (arch::kHasCodeCache && emulated && page->alias.load() != 0 &&
      divert_access(*table, address, uc)) {
    gate.exit(ticket);
    return disposal;  // the translation makes the access, and logs it
  }
  if ((emulated && page->alias.load() != 0) || page->modeled.load()) {
    EmulationOutcome outcome = emulate_access(context, *table, address, uc);
    if (outcome.handled) {
      gate.exit(ticket);
      disposal.raised = outcome.signal;
      disposal.raised_info = outcome.fault;
      return disposal;
    }
  }
  if (begin_single_step(context, ticket, *table, *page, address, uc)) {
    count_single_stepped();
    return disposal;  // the step keeps the ticket until its SIGTRAP
  }
  gate.exit(ticket);
  disposal.ours = false;
  return disposal;
}

// The part every handler shares: recursion, the handler frame, and the hand-over of what is not
// ours. `handle` decides, inside the frame.
template <typename Handle>
void run_handler(int signo, siginfo_t* info, void* ucontext, Handle handle) {
  ErrnoGuard errno_guard;
  auto& uc = *static_cast<ucontext_t*>(ucontext);
  ThreadContext& context = this_thread_context();
  if (context.handler_depth > 0) {
    // An emulated instruction's own fault (inside its stub or a guarded access) is expected.
    if (arch::recover_emulation_fault(signo, *info, uc, context.emulation)) return;
    report_recursive_fault(signo, *info, uc);
    pass_to_program(signo, info, ucontext, /*replays=*/true);
    return;
  }
  HandlerFrame frame(context);
  // The end of an instruction the emulator left running out of line (AArch64).
  if (arch::kRunsOutOfLine && arch::in_out_of_line_stub(arch::program_counter(uc))) {
    arch::OutOfLineOutcome out_of_line = finish_out_of_line(context, signo, *info, uc);
    if (out_of_line.ours) {
      frame.leave();
      if (out_of_line.signal != 0) {
        deliver_raised(out_of_line.signal, &out_of_line.fault, ucontext);
      }
      return;
    }
  }
  // What translated code logged comes before anything of this fault; but a thread stopped between
  // a diverted access and the count of its record (stepping out of it, signal_deferral.hpp) must
  // find its log as it left it.
  if (!arch::in_critical_part(arch::program_counter(uc))) {
    flush_logged_accesses();
  }
  Disposal disposal = handle(context, uc);
  frame.leave();
  if (!disposal.ours) {
    pass_to_program(signo, info, ucontext, /*replays=*/true);
  } else if (disposal.raised != 0) {
    deliver_raised(disposal.raised, &disposal.raised_info, ucontext);
  }
}

}  // namespace

void on_fault_signal(int signo, siginfo_t* info, void* ucontext) {
  run_handler(signo, info, ucontext, [signo, info](ThreadContext& context, ucontext_t& uc) {
    Disposal disposal;
    if (signo == SIGSEGV && info->si_code == SEGV_ACCERR) {
      disposal = handle_armed_page_fault(context, reinterpret_cast<uintptr_t>(info->si_addr), uc);
    }
    if (!disposal.ours && context.step.active) abort_single_step(context, uc);
    if (disposal.ours) count_handled();
    return disposal;
  });
}

void on_trap_signal(int signo, siginfo_t* info, void* ucontext) {
  run_handler(signo, info, ucontext, [info](ThreadContext& context, ucontext_t& uc) {
    Disposal disposal;
    if (continue_held_signals(uc)) {  // stepping out of a diverted access, signals held
      disposal.ours = true;
      return disposal;
    }
    if (info->si_code == SI_KERNEL) {
      // An int3 that an entry patch being made or taken out has put in the program's code.
      auto rip = arch::program_counter(uc);
      if (uintptr_t resume = arch::entry_patch_trap(rip)) {
        arch::set_program_counter(uc, resume);
        disposal.ours = true;
        return disposal;
      }
    }
    if (context.step.active && info->si_code > 0) {
      // The program had the trap flag set itself: its own SIGTRAP is due as well.
      disposal.ours = !context.step.program_trap_flag;
      finish_single_step(context, uc);
    }
    return disposal;
  });
}

}  // namespace mmiotrace::kmmio
