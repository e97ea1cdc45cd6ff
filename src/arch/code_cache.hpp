// mmiotrace: signal-safe
// The code cache's seam: what the engine, the recorder and the shim use of the code cache (hot
// code translated so that its traced accesses run inline) and of the access log its code writes.
// Only x86-64 has a code cache in this version; an architecture without one says so with
// kHasCodeCache = false and provides the same names as the answers of an empty cache (no code is
// ever in it, no entry is patched, the access log is never written). The x86-64 names are those
// of src/codecache, whose headers say what each does.
//
//   constexpr bool kHasCodeCache;
// Translated code (any context):
//   bool in_code_cache(uintptr_t pc);  bool in_critical_part(uintptr_t pc);
//   uintptr_t original_pc_of(uintptr_t pc);
//   const BlockTranslation* block_for_fault(uintptr_t pc);
//   SiteCounts site_counts();
// Entry patches:
//   enum class PatchOutcome;  PatchOutcome note_diverted_entry(uintptr_t, const BlockTranslation&);
//   uintptr_t entry_patch_trap(uintptr_t pc);  size_t remove_entry_patches();
//   void set_entry_patching(bool enabled);
//   void show_original_instruction(uint8_t* code, uintptr_t pc, size_t size);  in the bytes
//       read at a faulting `pc`, the original ones when a patch is being written over them
// Regions the translated code looks up:
//   struct RegionAnswer;  void set_region_lookup(RegionLookup);
//   void publish_regions(uint64_t filter_low, uint64_t filter_high);
// The access log:
//   struct AccessLog;  AccessLog& this_thread_access_log();  void flush_access_log();
//   void set_access_log_flush(AccessLogFlush);
//   void set_access_log_flush_vector_free(AccessLogFlushVectorFree);
//   void set_access_log_flush_done(void (*)());
//   void set_access_log_placement(AccessLogPlacement, AccessLogRingHead);
//   void unplace_access_log();
#pragma once

#if defined(__x86_64__)
#include "arch/x86_64/code_cache.hpp"
#elif defined(__aarch64__)
#include "arch/aarch64/code_cache.hpp"
#else
#error "the code cache's seam (src/arch/code_cache.hpp) has no implementation for this architecture"
#endif
