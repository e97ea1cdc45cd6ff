// mmiotrace: signal-safe
// The trace::TraceSink of traced processes: each thread writes its events into its own ring of the
// shared trace buffer, claimed on its first event. Lock-free and allocation-free; waits for
// room when the ring is full (or drops, counting, in drop mode).
#pragma once

#include "trace/event.hpp"
#include "trace/trace_buffer.hpp"
#include "trace/trace_sink.hpp"

namespace mmiotrace::recorder {

class RingSink final : public trace::TraceSink {
 public:
  explicit RingSink(trace::TraceBuffer buffer) : buffer_(buffer) {}
  // Any context. A signal handler that writes while its thread's normal code is in the middle
  // of a write has its record appended right after that one.
  void write(const trace::Event& event) override;
  // In one reservation of ring space (one at a time when a write is already under way on this
  // thread, or when the ring drops records).
  void write_many(const trace::Event* events, size_t count) override;
  // Encoded straight from the records into the ring, in as few reservations as the ring allows;
  // the encoder finds where the run ends.
  size_t write_small_accesses(const trace::SmallAccessRun& run) override;

 private:
  trace::TraceBuffer buffer_;
};

// This thread's process and thread ids, cached (a system call saved per event). Any context.
namespace detail {
struct ThreadIdentity {
  int pid = 0;
  int tid = 0;  // 0: not known yet
};
extern constinit thread_local ThreadIdentity t_identity __attribute__((tls_model("initial-exec")));
void learn_thread_identity();
}  // namespace detail
inline int current_pid() {
  if (detail::t_identity.tid == 0) detail::learn_thread_identity();
  return detail::t_identity.pid;
}
inline int current_tid() {
  if (detail::t_identity.tid == 0) detail::learn_thread_identity();
  return detail::t_identity.tid;
}

// In a child after fork(): the cached ids, the ring and the code cache's log belong to the
// parent's thread.
void forget_thread_state_after_fork();

// Where the code cache keeps the calling thread's log (codecache::set_access_log_placement(),
// which set_current_session() sets): the StagedAccessLog of the thread's ring in the current
// session's buffer (claimed now if need be), which outlives the thread; null when there is no
// session or no ring free. On the thread, in the code cache's flush (vector-free).
StagedAccessLog* place_access_log();
// The head of the calling thread's ring (0 before it has one). Vector-free.
uint64_t staged_ring_head();

}  // namespace mmiotrace::recorder
