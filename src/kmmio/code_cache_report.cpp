// mmiotrace: signal-safe, vector-free
// Reporting what the code cache logged to the probes' handlers. (Declared in code_cache.hpp; a
// file of its own because it is vector-free: the flush thunk of translated code runs it with
// only the general registers saved.)
#include <atomic>
#include <cstring>

#include "arch/code_cache.hpp"
#include "core/access_context.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/engine_stats.hpp"

namespace mmiotrace::kmmio {
namespace detail {

constinit std::atomic<bool> g_divert_enabled{false};
constinit std::atomic<mmiotrace_handler> g_batch_replaces{nullptr};
constinit std::atomic<AccessBatchHandler> g_batch{nullptr};

}  // namespace detail
namespace {

using detail::g_batch;
using detail::g_batch_replaces;
constinit std::atomic<RegionReached> g_region_reached{nullptr};

// Reports records [0, count) in order to the probes of `table` (null: nothing is traced any
// more), and returns how many it reported: all of them, or, with `batches_only`, those before the
// first whose probe has a handler the batch handler does not replace (which may be any code, so
// not code that runs with only the general registers saved). `entry`, when not null, is the
// table's probe of the first record, perhaps. The caller is inside the table gate.
size_t report_to(const ProbeTable* table, const ProbeEntry* entry, const AccessRecord* records,
                 size_t count, uint64_t time_ns, bool batches_only) {
  AccessContext& context = this_thread_access();
  const AccessContext saved = context;
  context.time_ns = time_ns;
  const AccessBatchHandler batch = g_batch.load(std::memory_order_relaxed);
  const mmiotrace_handler batched_handler = g_batch_replaces.load(std::memory_order_relaxed);
  size_t i = 0;  // `entry`: the last record's probe, then (runs of records share one)
  while (i < count && table != nullptr) {
    const AccessRecord& record = records[i];
    const uint64_t width = record.info & kAccessWidthMask;
    const size_t span = access_record_span(width);
    if (span > count - i) {  // (never: translated code counts an access whole)
      i = count;
      break;
    }
    if (entry == nullptr || !entry->range.contains(record.address)) {
      entry = table->find_probe(record.address);
    }
    mmiotrace_probe* probe = entry != nullptr ? entry->probe : nullptr;
    if (probe == nullptr || (probe->pre_handler == nullptr && probe->post_handler == nullptr)) {
      i += span;  // unmapped since (the unmapping thread flushed its own first), or nobody to tell
      continue;
    }
    const bool batched =
        batch != nullptr && probe->pre_handler == nullptr && probe->post_handler == batched_handler;
    if (batched && width <= 8) {
      // This record and the plain ones of this probe after it, at once: the batch handler finds
      // where they end (it reads them anyway), so they are not scanned here.
      const size_t taken = batch(probe, records + i, count - i, time_ns);
      if (taken != 0) {
        i += taken;
        continue;
      }
    }
    // A wide access of a batched probe (or one its batch handler did not take) goes to the
    // handler the batch replaces (vector-free, as the batch handler is); any access of a probe
    // with handlers of its own, which may run any code, only on the general flush.
    if (!batched && batches_only) break;
    mmiotrace_access access = {};
    access.address = record.address;
    access.fault_address = record.address;
    access.pc = record.pc;
    access.width = static_cast<uint32_t>(width);
    bool write = (record.info & kAccessWrite) != 0;
    access.kind = write ? MMIOTRACE_ACCESS_WRITE : MMIOTRACE_ACCESS_READ;
    access.decoded = 1;
    access.value_known = 1;
    if (width <= 8) {
      std::memcpy(access.value.bytes, &record.value, sizeof(record.value));
    } else {
      std::memcpy(access.value.bytes, &records[i + 1], width);  // the continuations
    }
    context.pc = record.pc;
    if (probe->pre_handler != nullptr) probe->pre_handler(probe, &access, nullptr);
    if (probe->post_handler != nullptr) probe->post_handler(probe, &access, nullptr);
    i += span;
  }
  if (table == nullptr) i = count;  // nothing is traced any more: nobody to tell
  context = saved;
  return i;
}

size_t report(const AccessRecord* records, size_t count, uint64_t time_ns, bool batches_only) {
  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  const size_t reported =
      report_to(published_table().load(), nullptr, records, count, time_ns, batches_only);
  gate.exit(ticket);
  return reported;
}

}  // namespace

void set_divert_reporting(bool enabled) {
  detail::g_divert_enabled.store(enabled);
}

void set_access_batch_handler(mmiotrace_handler replaces, AccessBatchHandler batch) {
  g_batch_replaces.store(replaces);
  g_batch.store(batch);
}

void set_region_reached(RegionReached reached) {
  g_region_reached.store(reached);
}

void report_logged_accesses(const AccessRecord* records, size_t count, uint64_t time_ns) {
  report(records, count, time_ns, false);
}

void report_logged_accesses(const ProbeTable& table, const ProbeEntry* first_probe,
                            const AccessRecord* records, size_t count, uint64_t time_ns) {
  report_to(&table, first_probe, records, count, time_ns, false);
}

void report_access_log(const AccessRecord* records, size_t count, uint64_t time_ns) {
  engine_stats().diverted_accesses.fetch_add(count, std::memory_order_relaxed);
  report(records, count, time_ns, false);
}

size_t report_access_log_in_batches(const AccessRecord* records, size_t count, uint64_t time_ns) {
  size_t reported = report(records, count, time_ns, true);
  engine_stats().diverted_accesses.fetch_add(reported, std::memory_order_relaxed);
  return reported;
}

void lookup_region(uintptr_t address, size_t width, arch::RegionAnswer* out) {
  *out = arch::RegionAnswer{};
  out->gap_high = ~uint64_t{0};
  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  if (const ProbeTable* table = published_table().load()) {
    const ProbeTable::Neighbourhood around = table->neighbourhood(address);
    if (around.probe != nullptr) {
      const ProbeEntry& entry = *around.probe;
      const uintptr_t alias =
          entry.backend != nullptr ? entry.backend->direct_address(0) : uintptr_t{0};
      if (alias != 0 && width <= entry.range.end - address) {
        out->traced = true;
        out->low = entry.range.begin;
        out->size = entry.range.end - entry.range.begin;
        out->delta = static_cast<int64_t>(alias - entry.range.begin);
        if (RegionReached reached = g_region_reached.load(std::memory_order_relaxed)) {
          reached(entry.probe, out->low, out->size);
        }
      } else if (alias == 0) {
        // A device model's or a replay's region: every access goes to its backend, through the
        // emulator; none is made inline there.
        out->gap_low = entry.range.begin;
        out->gap_high = entry.range.end;
      } else {
        // An access that runs out of the region: emulated; the rest of the region is not a gap.
        out->gap_low = address;
        out->gap_high = address;
      }
    } else {
      out->gap_low = around.gap_low;
      out->gap_high = around.gap_high;
    }
  }
  gate.exit(ticket);
}

}  // namespace mmiotrace::kmmio
