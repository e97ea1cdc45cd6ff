// mmiotrace: signal-safe
// Entry patching: a site in the program's code that keeps trapping into the code cache (a traced
// access reached again and again from untranslated code, after a call returns, say) gets a jump
// into its translation written over it, so that later entries cost a jump instead of a fault.
//
// A site is patched at its kHotEntryTraps-th diverted trap, only when all of these hold:
//  - the instructions under the 5-byte jump are all translated, one after the other, in the
//    block the site enters (so the only way into them is through the site);
//  - no direct branch or call of the code's mapping targets the bytes after the site's first
//    (the mapping is swept once, linearly, for its direct branch targets);
//  - the code is in a file mapping that is not writable (not JIT code, which may change);
//  - no other thread's RIP can be inside the patched bytes: the process has one thread, or the
//    site's own instruction covers all five bytes (an instruction boundary is never inside an
//    instruction, and a thread at the site itself meets the int3 or the whole jump).
// Branches through jump tables are not visible to the sweep: a switch whose case begins right
// after a traced access of the previous case is the one shape this can break (--no-patch).
//
// The bytes are written with the cross-modifying-code protocol: int3 on the site's first byte,
// membarrier(SYNC_CORE), the rest of the jump, membarrier, the jump's first byte, membarrier;
// a thread that meets the int3 meanwhile is sent on to where the jump will lead (or, while a
// patch is taken out, made to run the site again). A patch jumps to a stub that jumps on into the
// translation. The original bytes are kept: translation reads the code through them
// (show_original_code), and a patch is taken out again when its traced region goes away.
//
// Contract: note_diverted_entry() and entry_patch_trap() run in the engine's signal handlers;
// remove_entry_patches() in normal context (probe unregistration). Patching never waits for a
// lock: a thread that finds another patch under way leaves its site for a later trap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "x86/block_translator.hpp"

namespace mmiotrace::x86 {

inline constexpr size_t kMaxEntryPatches = 1024;
inline constexpr uint32_t kHotEntryTraps = 3;
inline constexpr size_t kEntryJumpBytes = 5;  // jmp rel32

// Why note_diverted_entry() did not (or did) patch a site.
enum class PatchOutcome : uint8_t {
  Patched,           // patched now
  AlreadyPatched,    // ... before (a thread that trapped while the patch was being made)
  Disabled,          // set_entry_patching(false)
  NotHotYet,         // fewer than kHotEntryTraps traps so far
  Busy,              // another patch is being made or taken out: a later trap tries again
  Refused,           // refused before, for one of the reasons below
  TableFull,         // kMaxEntryPatches sites are counted already
  NotStraightLine,   // the bytes under the jump are not all translated instructions in a row
  BranchTarget,      // a direct branch targets the bytes under the jump
  NotFileCode,       // the code is writable, anonymous, or its mapping cannot be read
  OtherThreads,      // the process has other threads, and the jump covers more than the site
  NoMemory,          // no code-cache memory within reach of the site
  ProtectFailed,     // the code could not be made writable (a W^X policy)
};
const char* patch_outcome_name(PatchOutcome outcome);

// Whether hot sites are patched (default: yes). Any context.
void set_entry_patching(bool enabled);
bool entry_patching_enabled();

// A fault at original address `site` was just diverted into `block`: counts it, and patches
// the site when it is hot and the rules above allow.
PatchOutcome note_diverted_entry(uintptr_t site, const BlockTranslation& block);

// For a SIGTRAP (si_code SI_KERNEL) whose RIP is `rip`: when the int3 just before it is one that a
// patch being made or taken out has put there, where the thread must continue; otherwise 0.
uintptr_t entry_patch_trap(uintptr_t rip);

// Takes out every patch whose translation diverts for a region overlapping [low, high).
// Returns how many were taken out.
size_t remove_entry_patches(uintptr_t low, uintptr_t high);

// In `bytes`, code read from [address, address + size), puts back the original bytes of the
// patches that lie there (where the patch's jump is still in place).
void show_original_code(uint8_t* bytes, uintptr_t address, size_t size);

// Sites patched right now.
size_t entry_patch_count();

}  // namespace mmiotrace::x86
