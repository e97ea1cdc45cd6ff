// mmiotrace: signal-safe
// Diverting faulting accesses into the code cache, and reporting what it logged (see divert.hpp).
#include "kmmio/divert.hpp"

#include <atomic>
#include <cstring>

#include "core/access_context.hpp"
#include "kmmio/engine_stats.hpp"
#include "kmmio/signal_deferral.hpp"
#include "x86/divert_log.hpp"
#include "x86/entry_patch.hpp"
#include "x86/translation_cache.hpp"

namespace mmiotrace::kmmio {
namespace {

constinit std::atomic<bool> g_enabled{false};
constinit std::atomic<mmiotrace_handler> g_batch_replaces{nullptr};
constinit std::atomic<DivertBatchHandler> g_batch{nullptr};

}  // namespace

// The probes' handlers get each logged access as the emulator would have told them.
void report_logged_accesses(const x86::DivertRecord* records, size_t count, uint64_t time_ns) {
  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  const ProbeTable* table = published_table().load();
  AccessContext& context = this_thread_access();
  const AccessContext saved = context;
  context.time_ns = time_ns;
  const DivertBatchHandler batch = g_batch.load(std::memory_order_relaxed);
  const mmiotrace_handler batched = g_batch_replaces.load(std::memory_order_relaxed);
  const ProbeEntry* entry = nullptr;  // the last record's probe: runs of records share one
  for (size_t i = 0; i < count && table != nullptr; ++i) {
    const x86::DivertRecord& record = records[i];
    if (entry == nullptr || !entry->range.contains(record.address)) {
      entry = table->find_probe(record.address);
    }
    if (entry == nullptr) continue;  // unmapped since: the unmapping thread flushed its own first
    mmiotrace_probe* probe = entry->probe;
    if (probe->pre_handler == nullptr && probe->post_handler == nullptr) continue;
    if (batch != nullptr && probe->pre_handler == nullptr && probe->post_handler == batched) {
      size_t run = 1;  // the records of this probe from here on, reported at once
      while (i + run < count && entry->range.contains(records[i + run].address)) ++run;
      batch(probe, records + i, run, time_ns);
      i += run - 1;
      continue;
    }
    mmiotrace_access access = {};
    access.address = record.address;
    access.fault_address = record.address;
    access.pc = record.pc;
    access.width = static_cast<uint32_t>(record.info & 0xff);
    bool write = (record.info & x86::kDivertWrite) != 0;
    access.kind = write ? MMIOTRACE_ACCESS_WRITE : MMIOTRACE_ACCESS_READ;
    access.decoded = 1;
    access.value_known = 1;
    std::memcpy(access.value.bytes, &record.value, sizeof(record.value));
    context.pc = record.pc;
    if (probe->pre_handler != nullptr) probe->pre_handler(probe, &access, nullptr);
    if (probe->post_handler != nullptr) probe->post_handler(probe, &access, nullptr);
  }
  context = saved;
  gate.exit(ticket);
}

namespace {

void report_records(const x86::DivertRecord* records, size_t count, uint64_t time_ns) {
  engine_stats().diverted_accesses.fetch_add(count, std::memory_order_relaxed);
  report_logged_accesses(records, count, time_ns);
}

}  // namespace

bool reported_in_batches(const mmiotrace_probe& probe) {
  return probe.pre_handler == nullptr && g_batch.load(std::memory_order_relaxed) != nullptr &&
         probe.post_handler == g_batch_replaces.load(std::memory_order_relaxed);
}

void set_divert(bool enabled) {
  if (enabled) {
    x86::set_divert_flush(report_records);
    hold_signals_during_flushes();
  }
  g_enabled.store(enabled);
}

void set_divert_batch_handler(mmiotrace_handler replaces, DivertBatchHandler batch) {
  g_batch_replaces.store(replaces);
  g_batch.store(batch);
}

bool divert_enabled() { return g_enabled.load(std::memory_order_relaxed); }

bool divert_access(const ProbeTable& table, uintptr_t fault_address, ucontext_t& uc) {
  if (!divert_enabled()) return false;
  auto pc = static_cast<uintptr_t>(uc.uc_mcontext.gregs[REG_RIP]);
  if (x86::in_code_cache(pc)) return false;  // a copied instruction: the emulator does it
  const ProbeEntry* entry = table.find_probe(fault_address);
  if (entry == nullptr || entry->backend == nullptr) return false;
  uintptr_t alias = entry->backend->direct_address(0);
  if (alias == 0) return false;  // a device model or a replay: every access goes to it
  x86::DivertTarget target;
  target.low = entry->range.begin;
  target.size = entry->range.end - entry->range.begin;
  target.alias_delta = static_cast<int64_t>(alias - entry->range.begin);
  if (target.size > (uint64_t{1} << 31)) return false;
  const x86::BlockTranslation* block = x86::diverted_block_at(pc, target);
  if (block == nullptr) return false;
  uc.uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(block->cache_pc(pc));
  count_diverted();
  if (x86::note_diverted_entry(pc, *block) == x86::PatchOutcome::Patched) count_patched();
  return true;
}

void flush_diverted_accesses() {
  if (divert_enabled()) x86::flush_divert_log();
}

}  // namespace mmiotrace::kmmio
