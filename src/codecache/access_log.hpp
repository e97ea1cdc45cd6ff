// mmiotrace: signal-safe
// The log that translated code writes its traced accesses into: one per thread, in initial-exec
// TLS, so that the code cache reaches it through %fs with no call and no lock. Its records lie
// where the recorder placed them (the thread's StagedAccessLog in the trace buffer, which
// outlives the thread), or in TLS. When it is full, the code calls
// mmiotrace_access_log_flush_thunk, which hands the records to the flush function the engine set
// and empties the log. Only the owning thread writes its log (its translated code, then
// flush_access_log() from its own normal code or signal handlers).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/access_record.hpp"
#include "core/staged_access_log.hpp"

namespace mmiotrace::codecache {

struct alignas(64) AccessLog {
  // Scratch for translated code, inside the critical part of an access only
  // (instrumentation.hpp): the operand of an instruction run on a copy, and a vector register
  // set aside meanwhile.
  uint8_t bounce[64];
  uint8_t spill[64];
  // records[0, count) are complete. Until the log is placed, `records` is null and `count` says
  // the log is full, so that the first access flushes, which places it.
  uint64_t count;
  AccessRecord* records;    // kAccessLogRecords of them
  StagedAccessLog* staged;  // where `records` lie, when in a StagedAccessLog
  uint64_t handed;          // records[0, handed) are handed over already (a partial flush)
  uint32_t flushing;        // a flush is under way on this thread: nested ones do nothing
  // A program signal arrived during the flush and was held back (kmmio/signal_deferral.hpp):
  // the flush calls the function set_access_log_flush_done() set once it is over.
  uint32_t signals_held;
};

// Where a thread's full log goes: called on that thread, from the code cache (through the
// thunk, with the program's registers saved) or from flush_access_log(), with the time of the
// flush (CLOCK_MONOTONIC). The records carry no time of their own (reading the clock costs more
// than a diverted access): they are given this one, which is at most one stay in the code cache
// or kAccessLogRecords accesses after they were made, and before anything the thread does next
// outside the cache (every exit from the cache flushes). Must be signal-safe.
using AccessLogFlush = void (*)(const AccessRecord* records, size_t count, uint64_t time_ns);
void set_access_log_flush(AccessLogFlush flush);
// What a flush calls, on its thread, once it is over, when a signal was held back meanwhile.
void set_access_log_flush_done(void (*done)());

// The flush that translated code's thunk tries first, before it saves more than the general
// registers and the flags: it must be vector-free code (cmake/mmiotrace_options.cmake) and call
// nothing else. It reports the longest prefix of the records it can (those whose probes need no
// handler of their own) and returns its length; flush_access_log() does the rest.
using AccessLogFlushVectorFree = size_t (*)(const AccessRecord* records, size_t count,
                                            uint64_t time_ns);
void set_access_log_flush_vector_free(AccessLogFlushVectorFree flush);

// Where a thread's log goes when it is placed (on its first flush): its StagedAccessLog, or null
// to keep its records in TLS. Called on the thread, in the flush's context (vector-free code).
// Returns the ring's head too, as `ring_head()` does afterwards: see StagedAccessLog.
using AccessLogPlacement = StagedAccessLog* (*)();
// The head of the ring that the thread's StagedAccessLog belongs to. Vector-free.
using AccessLogRingHead = uint64_t (*)();
void set_access_log_placement(AccessLogPlacement place, AccessLogRingHead ring_head);

// Hands this thread's records to the flush function and empties its log. Does nothing when
// called from inside a flush on this thread.
void flush_access_log();

// Makes this thread's log unplaced again, its records forgotten: in a child after fork(), whose
// log must not share the parent thread's StagedAccessLog (which the parent flushed first).
void unplace_access_log();

// This thread's log; its offsets from the thread pointer (%fs base) are the same in every thread.
AccessLog& this_thread_access_log();
// The offset of the calling thread's log from its thread pointer (negative: static TLS lies
// below it), which translated code adds to %fs.
intptr_t access_log_tls_offset();

}  // namespace mmiotrace::codecache

// Saves every register and the flags, calls flush_access_log(), restores them. Called by
// translated code only (its stack is 16-byte aligned or 8 off; the thunk aligns it).
extern "C" void mmiotrace_access_log_flush_thunk();
// What the thunk calls first, with the general registers saved: flushes what the vector-free
// flush takes. Returns 0 when that was all; otherwise the thunk saves the extended state and
// calls mmiotrace_access_log_flush_from_thunk(), flush_access_log(), for the rest (the records
// left, the handler of a signal held meanwhile).
extern "C" int mmiotrace_access_log_flush_vector_free_from_thunk();
extern "C" void mmiotrace_access_log_flush_from_thunk();
