// mmiotrace: signal-safe
// The code cache's table of translations: by the original address of their first instruction,
// filled from signal handlers by any thread (lock-free: a slot is claimed by CAS, a translation
// is published whole and never freed), looked up by the fault handler to divert a faulting
// access, and searched by cache address to name the original instruction of a cache PC.
#pragma once

#include <cstddef>
#include <cstdint>

#include "codecache/block_translator.hpp"

namespace mmiotrace::codecache {

inline constexpr size_t kMaxTranslations = 4096;

// The translation that starts at `pc` and diverts its first instruction for `target`: found, or
// made and published now. Null when `pc` cannot be diverted (not a MOV-family access the code
// cache instruments, or no memory, or the table is full). A translation whose original code
// has changed since (the digest differs) is made again.
const BlockTranslation* diverted_block_at(uintptr_t pc, const DivertTarget& target);

// The original instruction whose translation holds `pc`, or `pc` itself when it is not in the
// code cache's translated instructions.
uintptr_t original_pc_of(uintptr_t pc);

// Whether `pc` is in the critical part of a diverted access (BlockTranslation::in_critical_part).
bool in_critical_part(uintptr_t pc);

// Whether `pc` lies in translated code (instructions or exit stubs).
bool in_code_cache(uintptr_t pc);

}  // namespace mmiotrace::codecache
