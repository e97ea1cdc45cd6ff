// mmiotrace: signal-safe
// Diversion of hot MMIO code into the code cache (the engine's side of src/codecache):
// a faulting MOV-family access to a region reached through an alias continues in a translation
// of its code, whose instrumented accesses log into the thread's access log; the log's records
// reach the probes' handlers (and so the trace) with the time of their flush. Off unless
// enabled (MMIOTRACE_DIVERT=1; `mmiotrace record` sets it unless --no-divert). Handler context
// unless noted.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>

#include "arch/code_cache.hpp"
#include "kmmio/probe_table.hpp"

namespace mmiotrace::kmmio {

// The settings below (defined in kmmio/code_cache_report.cpp), read inline on the trap path.
using AccessBatchHandler = size_t (*)(mmiotrace_probe* probe, const AccessRecord* records,
                                      size_t count, uint64_t time_ns);
namespace detail {
extern constinit std::atomic<bool> g_divert_enabled;
extern constinit std::atomic<mmiotrace_handler> g_batch_replaces;
extern constinit std::atomic<AccessBatchHandler> g_batch;
}  // namespace detail

// Normal context, before or while the program runs.
void set_divert(bool enabled);
inline bool divert_enabled() {
  return detail::g_divert_enabled.load(std::memory_order_relaxed);
}
// What set_divert() uses (kmmio/code_cache_report.cpp): whether diversion is on, and the two ways
// it gives the log to arch::flush_access_log(): every record, and the vector-free one (see
// arch::AccessLogFlushVectorFree), which stops at the first record for a probe with a handler
// of its own.
void set_divert_reporting(bool enabled);
void report_access_log(const AccessRecord* records, size_t count, uint64_t time_ns);
size_t report_access_log_in_batches(const AccessRecord* records, size_t count, uint64_t time_ns);

// For a fault at `fault_address` on a page behind an alias: when the instruction at RIP is one
// the code cache instruments and the access lies in one probe that a Passthrough backend
// answers, moves RIP into the translation (which then makes the access) and returns true.
// Inside the table gate.
bool divert_access(const ProbeTable& table, uintptr_t fault_address, ucontext_t& uc);

// A faster way to report a run of logged accesses to probes whose only handler is `replaces`
// (a post handler): `batch` takes the records from the first, which is one of `probe`'s, up to
// `count` of them or to the first that is not the probe's ([addr, addr + len)) or is wider than 8
// bytes, all at once, and returns how many it took (0 leaves the first to `replaces`). It finds
// where they end itself. Normal context, before diverting.
void set_access_batch_handler(mmiotrace_handler replaces, AccessBatchHandler batch);
// Told, on the thread, of each region lookup_region() hands its translated code ([low, low +
// size) of `probe`), before the code logs any access there: the recorder names the region in the
// thread's StagedAccessLog. Vector-free code (it runs where lookup_region() does). Normal
// context, before diverting.
using RegionReached = void (*)(const mmiotrace_probe* probe, uint64_t low, uint64_t size);
void set_region_reached(RegionReached reached);

// Reports `count` accesses, all made at `time_ns`, to the probes they touch, as the emulator would
// have (pre handler, then post handler, each with a NULL ucontext), or through the batch handler.
// Any context on the thread.
void report_logged_accesses(const AccessRecord* records, size_t count, uint64_t time_ns);
// The same, from inside the table gate, to the probes of `table` (the emulator's, whose
// `first_probe` holds the first record, perhaps: a look-up saved).
void report_logged_accesses(const ProbeTable& table, const ProbeEntry* first_probe,
                            const AccessRecord* records, size_t count, uint64_t time_ns);
// Whether accesses to `probe` may be reported after the fact, in batches, with no difference to
// its handlers: its only handler is the one the batch handler replaces.
inline bool reported_in_batches(const mmiotrace_probe& probe) {
  return probe.pre_handler == nullptr &&
         detail::g_batch.load(std::memory_order_relaxed) != nullptr &&
         probe.post_handler == detail::g_batch_replaces.load(std::memory_order_relaxed);
}

// The code cache's question, for translated code (codecache/region_cache.hpp): whether an access
// of `width` bytes at `address` lies whole in a probe whose accesses translated code may make on
// its alias, or the untraced stretch around it. Vector-free; any context on the thread.
void lookup_region(uintptr_t address, size_t width, arch::RegionAnswer* out);

// Hands this thread's logged accesses to the probes' handlers (before any other event of the
// thread is recorded, so that its events stay in order). Any context on the thread.
inline void flush_logged_accesses() {
  if (arch::kHasCodeCache && divert_enabled()) arch::flush_access_log();
}

}  // namespace mmiotrace::kmmio
