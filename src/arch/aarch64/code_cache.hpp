// mmiotrace: signal-safe
// The code cache's seam (arch/code_cache.hpp) for AArch64, which has no code cache in this
// version (docs/code-cache.md): the answers of a cache that never holds code. Nothing is ever
// translated, diverted or patched, and the access log is never written, so every trapped access
// is emulated. Included through arch/code_cache.hpp only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/access_record.hpp"
#include "core/code_cache_interface.hpp"
#include "core/staged_access_log.hpp"

namespace mmiotrace::arch {

inline constexpr bool kHasCodeCache = false;

// Translated code: none.
struct BlockTranslation {
  uintptr_t cache_pc(uintptr_t pc) const { return pc; }
};
inline bool in_code_cache(uintptr_t) {
  return false;
}
inline bool in_critical_part(uintptr_t) {
  return false;
}
inline uintptr_t original_pc_of(uintptr_t pc) {
  return pc;
}
inline const BlockTranslation* block_for_fault(uintptr_t) {
  return nullptr;
}
using mmiotrace::SiteCounts;
inline SiteCounts site_counts() {
  return {0, 0};
}

// Entry patches: none.
enum class PatchOutcome : uint8_t { Patched, Disabled };
inline PatchOutcome note_diverted_entry(uintptr_t, const BlockTranslation&) {
  return PatchOutcome::Disabled;
}
inline uintptr_t entry_patch_trap(uintptr_t) {
  return 0;
}
inline size_t remove_entry_patches() {
  return 0;
}
inline void set_entry_patching(bool) {}
inline void show_original_instruction(uint8_t*, uintptr_t, size_t) {}

// The policy: accepted and ignored, so that MMIOTRACE_CODE_CACHE_POLICY means the same everywhere.
using mmiotrace::code_cache_policy_named;
using mmiotrace::CodeCachePolicy;
inline void set_code_cache_policy(CodeCachePolicy) {}

// Regions: translated code never looks them up.
using mmiotrace::RegionAnswer;
using mmiotrace::RegionLookup;
inline void set_region_lookup(RegionLookup) {}
inline void publish_regions(uint64_t, uint64_t) {}
struct RegionCache {};
inline RegionCache& this_thread_region_cache() {
  static constinit RegionCache none;
  return none;
}
template <typename Run>
void keep_region_cache_across(RegionCache&, Run run) {
  run();
}

// The access log: never written, never placed. Its one instance is shared by all threads, which
// only read it (no flush is ever under way).
struct AccessLog {
  uint64_t count;
  AccessRecord* records;
  StagedAccessLog* staged;
  uint32_t flushing;
  uint32_t signals_held;
};
inline AccessLog& this_thread_access_log() {
  static constinit AccessLog empty{};
  return empty;
}
inline void flush_access_log() {}
using AccessLogFlush = void (*)(const AccessRecord* records, size_t count, uint64_t time_ns);
inline void set_access_log_flush(AccessLogFlush) {}
using AccessLogFlushVectorFree = size_t (*)(const AccessRecord* records, size_t count,
                                            uint64_t time_ns);
inline void set_access_log_flush_vector_free(AccessLogFlushVectorFree) {}
inline void set_access_log_flush_done(void (*)()) {}
using AccessLogPlacement = StagedAccessLog* (*)();
using AccessLogRingHead = uint64_t (*)();
inline void set_access_log_placement(AccessLogPlacement, AccessLogRingHead) {}
inline void unplace_access_log() {}

}  // namespace mmiotrace::arch
