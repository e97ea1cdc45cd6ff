// mmiotrace: signal-safe
// The code cache's policy: when a site is worth translating, and a mapping worth sweeping for the
// patches of its entries. Adaptive (the default) translates a site at its kTranslateAfterTraps-th
// trap and sweeps a code mapping for branch targets only once the traps its waiting entries took
// have paid for the sweep (entry_patch.hpp); eager does both at once, as the code cache did before
// issue 17: a site is translated at its first trap and its mapping swept at its first patch.
// Set from normal context before the program runs (MMIOTRACE_CODE_CACHE_POLICY in the shim);
// read from signal handlers.
#pragma once

#include <cstdint>

#include "core/code_cache_interface.hpp"

namespace mmiotrace::codecache {

using mmiotrace::CodeCachePolicy;

void set_code_cache_policy(CodeCachePolicy policy);
CodeCachePolicy code_cache_policy();

// The policy called `name` (core/code_cache_interface.hpp).
using mmiotrace::code_cache_policy_named;

}  // namespace mmiotrace::codecache
