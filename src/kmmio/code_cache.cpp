// mmiotrace: signal-safe
// Diverting faulting accesses into the code cache (see code_cache.hpp).
#include "kmmio/code_cache.hpp"

#include "arch/code_cache.hpp"
#include "arch/machine.hpp"
#include "kmmio/engine_stats.hpp"
#include "kmmio/signal_deferral.hpp"

namespace mmiotrace::kmmio {

void set_divert(bool enabled) {
  if (enabled) {
    arch::set_access_log_flush(report_access_log);
    arch::set_access_log_flush_vector_free(report_access_log_in_batches);
    arch::set_region_lookup(lookup_region);
    hold_signals_during_flushes();
  }
  set_divert_reporting(enabled);
}

bool divert_access(const ProbeTable& table, uintptr_t fault_address, ucontext_t& uc) {
  if constexpr (!arch::kHasCodeCache) return false;
  if (!divert_enabled()) return false;
  auto pc = arch::program_counter(uc);
  if (arch::in_code_cache(pc)) return false;  // a copied instruction: the emulator does it
  // Only accesses translated code can make inline are worth a translation: not those of a
  // device model or a replay, whose every access goes to the backend.
  const ProbeEntry* entry = table.find_probe(fault_address);
  if (entry == nullptr || entry->backend == nullptr || entry->backend->direct_address(0) == 0) {
    return false;
  }
  const arch::BlockTranslation* block = arch::block_for_fault(pc);
  if (block == nullptr) return false;
  arch::set_program_counter(uc, block->cache_pc(pc));
  count_diverted();
  if (arch::note_diverted_entry(pc, *block) == arch::PatchOutcome::Patched) {
    count_patched();
  }
  return true;
}

}  // namespace mmiotrace::kmmio
