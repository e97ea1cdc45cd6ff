// mmiotrace: signal-safe
// The SingleStep strategy (see single_step.hpp).
#include "kmmio/single_step.hpp"

#include <sys/mman.h>

#include "arch/machine.hpp"
#include "core/syscall.hpp"
#include "kmmio/access_description.hpp"
#include "kmmio/program_signals.hpp"

namespace mmiotrace::kmmio {
namespace {

void open_page(FaultPage& page) {
  page.open_count.fetch_add(1);
  sys::mprotect(page.page, kPageSize, page.protection.load());
}

void close_page(FaultPage& page) {
  // The last thread to close re-arms. A thread that opens it meanwhile and finds it closed again
  // re-opens it from continue_single_step().
  if (page.open_count.fetch_sub(1) == 1 && !page.retiring.load()) {
    sys::mprotect(page.page, kPageSize, PROT_NONE);
  }
}

// Holds back every signal the program could handle in between, so that no handler of the
// program runs with the page open. Synchronous signals stay deliverable: blocking them would
// make the kernel kill the process instead.
void hold_asynchronous_signals(ucontext_t& uc) {
  for (auto& word : uc.uc_sigmask.__val)
    word = ~0ul;
  for (int signo : {SIGSEGV, SIGBUS, SIGTRAP, SIGILL, SIGFPE, SIGSYS}) {
    sys::sigset_remove(uc.uc_sigmask, signo);
  }
}

void end_step(ThreadContext& context, ucontext_t& uc) {
  SingleStepState& step = context.step;
  for (int i = 0; i < step.open_page_count; ++i)
    close_page(*step.open_pages[i]);
  if (!step.program_trap_flag) arch::clear_single_step_flag(uc);
  uc.uc_sigmask = step.program_mask;
  step.active = false;
  table_gate().exit(step.ticket);
}

}  // namespace

bool begin_single_step(ThreadContext& context, EpochGate::Ticket ticket, const ProbeTable& table,
                       FaultPage& page, uintptr_t fault_address, ucontext_t& uc) {
  if (!arch::kHasSingleStep) return false;  // the emulator said why, in the trace
  if (!protection_allows(page.protection.load(), uc)) return false;
  SingleStepState& step = context.step;
  AccessDescription description;
  describe_access(table, fault_address, uc, &description);

  step.pc = arch::program_counter(uc);
  step.ticket = ticket;
  step.table = &table;
  step.instruction = description.instruction;
  step.access = description.access;
  step.probe = description.probe;
  mmiotrace_access& access = step.access;
  if (description.operand && arch::writes(description.operand->kind) &&
      !arch::reads(description.operand->kind)) {
    access.value_known = arch::value_from_registers(step.instruction, uc, access.value.bytes);
  }
  if (step.probe && step.probe->pre_handler) step.probe->pre_handler(step.probe, &access, &uc);

  step.open_pages[0] = &page;
  step.open_page_count = 1;
  open_page(page);
  step.program_mask = uc.uc_sigmask;
  hold_asynchronous_signals(uc);
  step.program_trap_flag = arch::single_step_flag(uc);
  arch::set_single_step_flag(uc);
  step.active = true;
  return true;
}

bool continue_single_step(ThreadContext& context, uintptr_t fault_address, ucontext_t& uc) {
  SingleStepState& step = context.step;
  if (arch::program_counter(uc) != step.pc) return false;
  FaultPage* page = step.table->find_page(fault_address);
  if (page == nullptr || !protection_allows(page->protection.load(), uc)) return false;
  for (int i = 0; i < step.open_page_count; ++i) {
    if (step.open_pages[i] == page) {
      // Another thread re-armed it between our open and the access: open it again.
      sys::mprotect(page->page, kPageSize, page->protection.load());
      return true;
    }
  }
  if (step.open_page_count == kMaxOpenPages) return false;
  step.open_pages[step.open_page_count++] = page;
  open_page(*page);
  return true;
}

void finish_single_step(ThreadContext& context, ucontext_t& uc) {
  SingleStepState& step = context.step;
  mmiotrace_access& access = step.access;
  if (!access.value_known && arch::reads(static_cast<arch::AccessKind>(access.kind)) &&
      !arch::writes(static_cast<arch::AccessKind>(access.kind))) {
    access.value_known = arch::value_from_registers(step.instruction, uc, access.value.bytes);
  }
  if (step.probe && step.probe->post_handler) step.probe->post_handler(step.probe, &access, &uc);
  end_step(context, uc);
}

void abort_single_step(ThreadContext& context, ucontext_t& uc) {
  end_step(context, uc);
}

}  // namespace mmiotrace::kmmio
