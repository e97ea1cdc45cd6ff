// mmiotrace: signal-safe, vector-free
// The per-thread log of translated code's accesses (see access_log.hpp).
#include "codecache/access_log.hpp"

#include <atomic>

#include "core/monotonic_clock.hpp"

namespace mmiotrace::codecache {
namespace {

[[gnu::tls_model("initial-exec")]] thread_local AccessLog t_log;
std::atomic<AccessLogFlush> g_flush{nullptr};
std::atomic<void (*)()> g_flush_done{nullptr};
std::atomic<AccessLogFlushVectorFree> g_flush_vector_free{nullptr};

}  // namespace

void set_access_log_flush(AccessLogFlush flush) {
  g_flush.store(flush);
}
void set_access_log_flush_done(void (*done)()) {
  g_flush_done.store(done);
}
void set_access_log_flush_vector_free(AccessLogFlushVectorFree flush) {
  g_flush_vector_free.store(flush);
}

namespace {

// Hands the log's records to `report`, which returns how many it took (all, or those before
// some record), with `flushing` set meanwhile, and keeps the rest first in the log. False, doing
// nothing, when a flush is under way on this thread already.
template <typename Report>
bool hand_over_records(AccessLog& log, Report report) {
  if (log.flushing != 0) return false;
  // Flushing before the count is read: a signal handler that ran in between would flush, log
  // anew and leave a count this one does not know.
  log.flushing = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  size_t count = log.count;
  if (count > kAccessLogRecords) count = kAccessLogRecords;
  size_t done = count > 0 ? report(log.records, count) : 0;
  for (size_t i = done; i < count; ++i)
    log.records[i - done] = log.records[i];
  log.count = count - done;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  log.flushing = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return true;
}

}  // namespace

void flush_access_log() {
  AccessLog& log = t_log;
  bool flushed = hand_over_records(log, [](const mmiotrace::AccessRecord* records, size_t count) {
    if (AccessLogFlush flush = g_flush.load()) flush(records, count, monotonic_ns());
    return count;
  });
  if (flushed && log.signals_held != 0) {
    log.signals_held = 0;
    if (void (*done)() = g_flush_done.load()) done();
  }
}

AccessLog& this_thread_access_log() {
  return t_log;
}

intptr_t access_log_tls_offset() {
  return reinterpret_cast<intptr_t>(&t_log) -
         reinterpret_cast<intptr_t>(__builtin_thread_pointer());
}

}  // namespace mmiotrace::codecache

extern "C" int mmiotrace_access_log_flush_vector_free_from_thunk() {
  using namespace mmiotrace::codecache;
  AccessLog& log = t_log;
  bool flushed = hand_over_records(log, [](const mmiotrace::AccessRecord* records, size_t count) {
    AccessLogFlushVectorFree flush = g_flush_vector_free.load();
    return flush != nullptr ? flush(records, count, mmiotrace::monotonic_ns()) : 0;
  });
  if (!flushed) return 0;  // as flush_access_log() would: nothing
  return log.count != 0 || log.signals_held != 0;
}

extern "C" void mmiotrace_access_log_flush_from_thunk() {
  mmiotrace::codecache::flush_access_log();
}
