// mmiotrace: signal-safe
// The code cache's sites: each place of the program's code where an access to traced memory
// faulted, and what became of it. A site is translated (block_translator.hpp) once it has
// trapped kTranslateAfterTraps times, which a site run once never does (at its first trap under
// the eager policy, policy.hpp); a site that cannot be
// translated is remembered, with why, and not tried again. Filled from signal handlers by any
// thread (lock-free: a site is claimed by CAS, a translation published whole); translations are
// found from a cache PC without a search (their owner, x86/code_arena.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "codecache/block_translator.hpp"
#include "core/code_cache_interface.hpp"

namespace mmiotrace::codecache {

inline constexpr size_t kMaxSites = 8192;
inline constexpr uint32_t kTranslateAfterTraps = 2;

// The translation to continue a faulting access at `pc` in, or null: the access is then
// emulated (a site not hot yet, one that cannot be translated, or one another thread is
// translating right now). Makes no system call unless it translates the site now.
const BlockTranslation* block_for_fault(uintptr_t pc);

// The original instruction whose translation holds `pc`, or `pc` itself when it is not in the
// code cache's translated instructions.
uintptr_t original_pc_of(uintptr_t pc);

// Whether `pc` is in the critical part of a diverted access (BlockTranslation::in_critical_part).
bool in_critical_part(uintptr_t pc);

// Whether `pc` lies in translated code (instructions or exit stubs).
bool in_code_cache(uintptr_t pc);

// How many sites have been translated, and how many were refused, so far.
using mmiotrace::SiteCounts;
SiteCounts site_counts();

}  // namespace mmiotrace::codecache
