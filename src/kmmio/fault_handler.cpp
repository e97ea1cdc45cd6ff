// mmiotrace: signal-safe
// The SIGSEGV, SIGBUS and SIGTRAP handlers (the seed's kmmio_handler and post_kmmio_handler):
// decide whether a signal belongs to a probe, run the strategy, or hand the signal to the program.
#include <sys/mman.h>

#include <cerrno>

#include "core/diagnostics.hpp"
#include "kmmio/engine_stats.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/program_signals.hpp"
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

uintptr_t pc_of(const ucontext_t& uc) { return static_cast<uintptr_t>(uc.uc_mcontext.gregs[REG_RIP]); }

// A fault inside mmiotrace's own handler frame: a probe handler touched traced memory, or
// mmiotrace itself is broken. Say so; the fault then goes on as a foreign one (the kernel's
// "recursive probe hit ... Ignoring", without the deadlock).
void report_recursive_fault(int signo, const siginfo_t& info, const ucontext_t& uc) {
  count_recursive();
  Diagnostic line;
  line.text(signo == SIGTRAP ? "trap" : "fault")
      .text(" at ")
      .hex0x(reinterpret_cast<uintptr_t>(info.si_addr))
      .text(" (pc ")
      .hex0x(pc_of(uc))
      .text(") inside mmiotrace's own signal handler: a probe handler touched traced memory, or "
            "mmiotrace has a bug; passing it on");
  line.emit();
}

// A fault on an armed page. Returns true when it was ours and has been dealt with.
bool handle_armed_page_fault(ThreadContext& context, uintptr_t address, ucontext_t& uc) {
  if (context.step.active) return continue_single_step(context, address, uc);

  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  const ProbeTable* table = published_table().load();
  FaultPage* page = table ? table->find_page(address) : nullptr;
  if (page == nullptr || page->protection == PROT_NONE) {
    gate.exit(ticket);
    return false;
  }
  if (page->retiring.load()) {
    // The registry is disarming this page right now; run the instruction again.
    gate.exit(ticket);
    return true;
  }
  if (begin_single_step(context, ticket, *table, *page, address, uc)) return true;
  gate.exit(ticket);
  return false;
}

}  // namespace

void on_fault_signal(int signo, siginfo_t* info, void* ucontext) {
  ErrnoGuard errno_guard;
  auto& uc = *static_cast<ucontext_t*>(ucontext);
  ThreadContext& context = this_thread_context();
  if (context.handler_depth > 0) {
    report_recursive_fault(signo, *info, uc);
    pass_to_program(signo, info, ucontext);
    return;
  }
  HandlerFrame frame(context);
  if (signo == SIGSEGV && info->si_code == SEGV_ACCERR &&
      handle_armed_page_fault(context, reinterpret_cast<uintptr_t>(info->si_addr), uc)) {
    count_handled();
    return;
  }
  if (context.step.active) abort_single_step(context, uc);
  frame.leave();
  pass_to_program(signo, info, ucontext);
}

void on_trap_signal(int signo, siginfo_t* info, void* ucontext) {
  ErrnoGuard errno_guard;
  auto& uc = *static_cast<ucontext_t*>(ucontext);
  ThreadContext& context = this_thread_context();
  if (context.handler_depth > 0) {
    report_recursive_fault(signo, *info, uc);
    pass_to_program(signo, info, ucontext);
    return;
  }
  HandlerFrame frame(context);
  if (context.step.active && info->si_code > 0) {
    bool program_was_stepping = context.step.program_trap_flag;
    finish_single_step(context, uc);
    if (!program_was_stepping) return;
    // The program had the trap flag set itself: its own SIGTRAP is due as well.
  }
  frame.leave();
  pass_to_program(signo, info, ucontext);
}

}  // namespace mmiotrace::kmmio

namespace mmiotrace::kmmio {

EngineStats& engine_stats() {
  static constinit EngineStats stats;
  return stats;
}

}  // namespace mmiotrace::kmmio
