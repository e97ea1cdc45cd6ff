// mmiotrace: signal-safe, vector-free
// The per-thread log of translated code's accesses (see divert_log.hpp).
#include "x86/divert_log.hpp"

#include <atomic>

#include "core/monotonic_clock.hpp"

namespace mmiotrace::x86 {
namespace {

[[gnu::tls_model("initial-exec")]] thread_local DivertLog t_log;
std::atomic<DivertFlush> g_flush{nullptr};
std::atomic<void (*)()> g_flush_done{nullptr};
std::atomic<DivertFlushVectorFree> g_flush_vector_free{nullptr};

}  // namespace

void set_divert_flush(DivertFlush flush) { g_flush.store(flush); }
void set_divert_flush_done(void (*done)()) { g_flush_done.store(done); }
void set_divert_flush_vector_free(DivertFlushVectorFree flush) { g_flush_vector_free.store(flush); }

void flush_divert_log() {
  DivertLog& log = t_log;
  if (log.flushing != 0) return;
  log.flushing = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  size_t count = log.count;
  if (count > kDivertLogRecords) count = kDivertLogRecords;
  if (DivertFlush flush = g_flush.load(); flush != nullptr && count > 0) {
    flush(log.records, count, monotonic_ns());
  }
  log.count = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  log.flushing = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (log.signals_held != 0) {
    log.signals_held = 0;
    if (void (*done)() = g_flush_done.load()) done();
  }
}

DivertLog& this_thread_divert_log() { return t_log; }

intptr_t divert_log_tls_offset() {
  return reinterpret_cast<intptr_t>(&t_log) - reinterpret_cast<intptr_t>(__builtin_thread_pointer());
}

}  // namespace mmiotrace::x86

extern "C" int mmiotrace_divert_flush_vector_free_from_thunk() {
  using namespace mmiotrace::x86;
  DivertLog& log = t_log;
  if (log.flushing != 0) return 0;  // as flush_divert_log() would: nothing
  // Flushing before the count is read: a signal handler that ran in between would flush, log
  // anew and leave a count this one does not know.
  log.flushing = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  size_t count = log.count;
  if (count > kDivertLogRecords) count = kDivertLogRecords;
  DivertFlushVectorFree flush = g_flush_vector_free.load();
  size_t done = 0;
  if (count > 0 && flush != nullptr) done = flush(log.records, count, mmiotrace::monotonic_ns());
  // What it left goes first in the log, for flush_divert_log().
  for (size_t i = done; i < count; ++i) log.records[i - done] = log.records[i];
  log.count = count - done;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  log.flushing = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return log.count != 0 || log.signals_held != 0;
}

extern "C" void mmiotrace_divert_flush_from_thunk() { mmiotrace::x86::flush_divert_log(); }
