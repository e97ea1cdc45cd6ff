// mmiotrace: signal-safe
// Per-thread state of the engine (the kernel's kmmio_ctx[NR_CPUS], one per thread here). Lives in
// initial-exec TLS so that signal handlers reach it without locks or allocation. Only the owning
// thread touches it, from its normal code and its own signal handlers.
#pragma once

#include <csignal>
#include <cstdint>

#include "arch/machine.hpp"
#include "kmmio/epoch_gate.hpp"
#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::kmmio {

struct FaultPage;
struct ProbeTable;

inline constexpr int kMaxOpenPages = 4;  // two operands, each straddling two pages

// An instruction being single-stepped: from the SIGSEGV that opened its page to the SIGTRAP
// after it ran. The thread stays inside the table gate for the whole step.
struct SingleStepState {
  bool active = false;
  bool program_trap_flag = false;  // TF was already set by the program itself
  uintptr_t pc = 0;
  EpochGate::Ticket ticket = 0;
  const ProbeTable* table = nullptr;
  FaultPage* open_pages[kMaxOpenPages] = {};
  int open_page_count = 0;
  mmiotrace_probe* probe = nullptr;  // the probe to report to, or null
  mmiotrace_access access = {};
  arch::Instruction instruction;
  sigset_t program_mask = {};  // the signal mask to give back when the step ends
};

struct ThreadContext {
  // Depth of mmiotrace's own handler frames on this thread; > 0 means a new fault is recursive.
  int handler_depth = 0;
  SingleStepState step;
  arch::EmulationState emulation;
};

namespace detail {
extern constinit thread_local ThreadContext t_context __attribute__((tls_model("initial-exec")));
}  // namespace detail

// Inline: a signal handler reaches its thread's context with one load from the thread pointer.
inline ThreadContext& this_thread_context() {
  return detail::t_context;
}

// Counts a handler frame for the life of the scope.
class HandlerFrame {
 public:
  explicit HandlerFrame(ThreadContext& context) : context_(context) { ++context_.handler_depth; }
  ~HandlerFrame() { leave(); }
  HandlerFrame(const HandlerFrame&) = delete;
  HandlerFrame& operator=(const HandlerFrame&) = delete;
  // Ends the frame early, before handing the signal to the program's handler.
  void leave() {
    if (active_) --context_.handler_depth;
    active_ = false;
  }

 private:
  ThreadContext& context_;
  bool active_ = true;
};

}  // namespace mmiotrace::kmmio
