// mmiotrace: signal-safe, vector-free
// The per-thread log of translated code's accesses (see access_log.hpp).
#include "codecache/access_log.hpp"

#include <atomic>

#include "codecache/region_cache.hpp"
#include "core/monotonic_clock.hpp"

namespace mmiotrace::codecache {
namespace {

// Unplaced: full, so that translated code's first access flushes (and places it).
[[gnu::tls_model("initial-exec")]] constinit thread_local AccessLog t_log = {
    .bounce = {},
    .spill = {},
    .count = kAccessLogRecords,
    .records = nullptr,
    .staged = nullptr,
    .handed = 0,
    .flushing = 0,
    .signals_held = 0};
// The records of a log that has no StagedAccessLog.
[[gnu::tls_model(
    "initial-exec")]] constinit thread_local AccessRecord t_own_records[kAccessLogRecords] = {};
std::atomic<AccessLogFlush> g_flush{nullptr};
std::atomic<void (*)()> g_flush_done{nullptr};
std::atomic<AccessLogFlushVectorFree> g_flush_vector_free{nullptr};
std::atomic<AccessLogPlacement> g_place{nullptr};
std::atomic<AccessLogRingHead> g_ring_head{nullptr};

// Gives the log its records: in the thread's StagedAccessLog when the recorder has one, or in
// TLS. The thread's region cache is emptied: every region its code reaches from now on is found
// anew, and so named in the StagedAccessLog before the first record in it.
void place(AccessLog& log) {
  AccessLogPlacement placement = g_place.load();
  StagedAccessLog* staged = placement != nullptr ? placement() : nullptr;
  log.staged = staged;
  log.records = staged != nullptr ? staged->records : t_own_records;
  log.handed = 0;
  RegionCache& cache = this_thread_region_cache();
  cache.generation = 0;
  cache.gap_generation = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  log.count = 0;
}

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
void set_access_log_placement(AccessLogPlacement place, AccessLogRingHead ring_head) {
  g_ring_head.store(ring_head);
  g_place.store(place);
}

namespace {

// Hands the log's records not handed yet to `report`, which returns how many it took (all, or
// those before some record), with `flushing` set meanwhile. Once all are handed over, the log is
// empty again: their `info` cleared first, so that a StagedAccessLog never shows a record twice
// (one that a dead thread left half handed over: see StagedAccessLog::handing_since). False,
// doing nothing, when a flush is under way on this thread already.
template <typename Report>
bool hand_over_records(AccessLog& log, Report report) {
  if (log.flushing != 0) return false;
  // Flushing before the count is read: a signal handler that ran in between would flush, log
  // anew and leave a count this one does not know.
  log.flushing = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (log.records == nullptr) {
    place(log);
  } else if (log.count != 0) {
    size_t count = log.count;
    if (count > kAccessLogRecords) count = kAccessLogRecords;
    size_t handed = log.handed < count ? log.handed : count;
    StagedAccessLog* staged = log.staged;
    if (staged != nullptr && handed == 0 && count > 0) {
      AccessLogRingHead ring_head = g_ring_head.load(std::memory_order_relaxed);
      staged->handing_since.store((ring_head != nullptr ? ring_head() : 0) + 1,
                                  std::memory_order_relaxed);
    }
    if (count > handed) handed += report(log.records + handed, count - handed);
    if (handed < count) {
      log.handed = handed;
    } else {
      // Continuations too: the value bytes in their `info` must not pass for a record's once
      // later records stop short of them.
      for (size_t i = 0; i < count; ++i)
        log.records[i].info = 0;
      if (staged != nullptr) staged->handing_since.store(0, std::memory_order_release);
      log.handed = 0;
      log.count = 0;
    }
  }
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

void unplace_access_log() {
  AccessLog& log = t_log;
  log.records = nullptr;
  log.staged = nullptr;
  log.handed = 0;
  log.count = kAccessLogRecords;
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
