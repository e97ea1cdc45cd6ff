// mmiotrace: signal-safe
// Writing events into per-thread rings (see ring_sink.hpp).
#include "trace/ring_sink.hpp"

#include <csignal>

#include "core/syscall.hpp"
#include "kmmio/thread_context.hpp"
#include "trace/binary_format.hpp"

namespace mmiotrace::trace {
namespace {

struct ThreadState {
  int pid = 0;
  int tid = 0;
  RingControl* ring = nullptr;
  const BufferControl* buffer = nullptr;  // the buffer `ring` belongs to
};

constinit thread_local ThreadState t_state __attribute__((tls_model("initial-exec")));

void know_identity() {
  if (t_state.tid == 0) {
    t_state.pid = sys::getpid();
    t_state.tid = sys::gettid();
  }
}

// Holds back asynchronous signals for a scope of normal code.
class SignalHold {
 public:
  SignalHold() : active_(kmmio::this_thread_context().handler_depth == 0) {
    if (!active_) return;
    sigset_t all;
    for (auto& word : all.__val) word = ~0ul;
    sys::rt_sigprocmask(SIG_BLOCK, &all, &saved_);
  }
  ~SignalHold() {
    if (active_) sys::rt_sigprocmask(SIG_SETMASK, &saved_, nullptr);
  }
  SignalHold(const SignalHold&) = delete;
  SignalHold& operator=(const SignalHold&) = delete;

 private:
  bool active_;
  sigset_t saved_;
};

}  // namespace

int current_pid() {
  know_identity();
  return t_state.pid;
}

int current_tid() {
  know_identity();
  return t_state.tid;
}

void forget_thread_state_after_fork() { t_state = ThreadState{}; }

void RingSink::write(const Event& event) {
  uint8_t record[kMaxRecordSize];
  size_t size = encode_record(event, record);
  SignalHold hold;
  BufferControl& control = buffer_.control();
  if (t_state.ring == nullptr || t_state.buffer != &control) {
    know_identity();
    t_state.ring = buffer_.claim(t_state.pid, t_state.tid);
    t_state.buffer = &control;
    if (t_state.ring == nullptr) {
      control.unrecorded.fetch_add(1);  // every ring is taken
      t_state.buffer = nullptr;
      return;
    }
  }
  uint32_t index = static_cast<uint32_t>(t_state.ring - control.rings);
  RingWriter(control, *t_state.ring, buffer_.ring_data(index)).append(record, size);
}

}  // namespace mmiotrace::trace
