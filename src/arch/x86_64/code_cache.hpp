// mmiotrace: signal-safe
// The code cache's seam (arch/code_cache.hpp) for x86-64: src/codecache. Included through
// arch/code_cache.hpp only.
#pragma once

#include "codecache/access_log.hpp"
#include "codecache/entry_patch.hpp"
#include "codecache/policy.hpp"
#include "codecache/region_cache.hpp"
#include "codecache/translation_cache.hpp"

namespace mmiotrace::arch {

inline constexpr bool kHasCodeCache = true;

// Translated code.
using codecache::block_for_fault;
using codecache::BlockTranslation;
using codecache::in_code_cache;
using codecache::in_critical_part;
using codecache::original_pc_of;
using codecache::site_counts;
using codecache::SiteCounts;

// Entry patches.
using codecache::entry_patch_trap;
using codecache::note_diverted_entry;
using codecache::PatchOutcome;
using codecache::remove_entry_patches;
using codecache::set_entry_patching;
using codecache::show_original_instruction;

// The policy: when sites are translated and patched.
using codecache::code_cache_policy_named;
using codecache::CodeCachePolicy;
using codecache::set_code_cache_policy;

// Regions.
using codecache::keep_region_cache_across;
using codecache::publish_regions;
using codecache::RegionAnswer;
using codecache::RegionCache;
using codecache::set_region_lookup;
using codecache::this_thread_region_cache;

// The access log.
using codecache::AccessLog;
using codecache::AccessLogFlushVectorFree;
using codecache::flush_access_log;
using codecache::set_access_log_flush;
using codecache::set_access_log_flush_done;
using codecache::set_access_log_flush_vector_free;
using codecache::set_access_log_placement;
using codecache::this_thread_access_log;
using codecache::unplace_access_log;

}  // namespace mmiotrace::arch
