// mmiotrace: signal-safe
// Entry patching: a site in the program's code that keeps trapping into the code cache (a traced
// access reached again and again from untranslated code, after a call returns, say) gets a jump
// into its translation written over it, so that later entries cost a jump instead of a fault.
//
// A site is patched at its kHotEntryTraps-th diverted trap, when its code is in a file mapping
// that is not writable (not JIT code, which may change), no direct branch or call of that mapping
// targets the inside of its instruction, and no other patch's jump overlaps the new one. Which
// bytes a direct branch targets is first answered cheaply, by supersets: the short branches
// decoded around the site, and a scan of the mapping's bytes for anything that could be a long
// branch; only where those mark the bytes under a jump is the mapping swept, linearly, decoding
// every instruction, and, under the adaptive policy (policy.hpp), only once the diverted traps
// of the sites that wait for that sweep, kSweptBytesPerTrap bytes each, have paid for it: a
// short program never pays for the sweep of a mapping as large as libc. The rule that no
// thread's RIP may be inside the bytes replaced then decides the jump:
//  - a site of five bytes or more gets a 5-byte `jmp rel32` over its own bytes;
//  - a shorter site gets a jump that replaces its own bytes only: up to three ignored prefixes,
//    the opcode and the displacement's low bytes on the site, its high bytes being the code
//    after it, unchanged; the jump's stub is placed where that displacement can lead
//    (jump_window(); with no prefix first, the widest window). No thread can be stopped inside
//    an instruction, so this is safe with any number of threads;
//  - when no memory is free in any of those windows and the process has one thread, a 5-byte
//    jump may cover the instructions after the site too, if they are all translated, one after
//    the other, in the block the site enters, and no direct branch targets them (so the only way
//    into them is through the site). Branches through jump tables are not visible to the sweep:
//    a switch whose case begins right after a traced access of the previous case is the one
//    shape this can break (--no-patch).
// With other threads, patching needs membarrier(SYNC_CORE): a thread that fetched the old bytes
// must fetch them again.
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

#include "codecache/block_translator.hpp"

namespace mmiotrace::codecache {

inline constexpr size_t kMaxEntryPatches = 1024;
inline constexpr uint32_t kHotEntryTraps = 3;
// A diverted trap at a site that waits for its mapping's sweep pays for this many bytes of it:
// the sweep decodes a byte in about 22 ns, a trap into the cache costs about 3 us.
inline constexpr uint64_t kSweptBytesPerTrap = 128;
inline constexpr size_t kEntryJumpBytes = 5;  // jmp rel32
// A jump over a site shorter than it, with up to three ignored prefixes before it.
inline constexpr size_t kMaxPaddedJumpBytes = kEntryJumpBytes + 3;

// Why note_diverted_entry() did not (or did) patch a site.
enum class PatchOutcome : uint8_t {
  Patched,          // patched now
  AlreadyPatched,   // ... before (a thread that trapped while the patch was being made)
  Disabled,         // set_entry_patching(false)
  NotHotYet,        // fewer than kHotEntryTraps traps so far
  AwaitingSweep,    // hot, but its mapping's sweep is not paid for yet (see above)
  Busy,             // another patch is being made or taken out: a later trap tries again
  Refused,          // refused before, for one of the reasons below
  TableFull,        // kMaxEntryPatches sites are counted already
  NotStraightLine,  // the bytes under the jump are not all translated instructions in a row
  BranchTarget,     // a direct branch targets the bytes under the jump
  NotFileCode,      // the code is writable, anonymous, or its mapping cannot be read
  OtherThreads,     // the process has other threads, and membarrier(SYNC_CORE) is not available
  NoMemory,         // no code-cache memory within reach of the site
  Overlap,          // the jump would overlap the jump of another patch
  NoWindow,         // a site shorter than the jump: no free memory where a jump over the
                    // site alone can lead, and other threads forbid one over more
  ProtectFailed,    // the code could not be made writable (a W^X policy)
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

// Takes out every patch (the engine does when no region is traced any more). Returns how many
// were taken out.
size_t remove_entry_patches();

// In `bytes`, code read from [address, address + size), puts back the original bytes of the
// patches that lie there: where the patch's jump is in place, and where a patch being made or
// taken out has left its int3 or part of its jump. Any context.
void show_original_code(uint8_t* bytes, uintptr_t address, size_t size);
// The same for the instruction at `pc` alone (`bytes` read from there), at the cost of one
// look-up, and only where its first byte is one a patch leaves: for a fault at a site, whose
// thread ran the original instruction while another may have been writing the patch over it.
void show_original_instruction(uint8_t* bytes, uintptr_t pc, size_t size);

// Sites patched right now.
size_t entry_patch_count();

// Forgets every code mapping's scan and sweep, and sends the sites waiting for a sweep back to
// counting, as if no site had been patched yet: for tests, which need a sweep not paid for yet.
// Normal context; no other thread may be trapping meanwhile.
void forget_branch_targets();

// Where a jump over a site shorter than it can lead when it replaces only the site's bytes:
// `prefixes` ignored prefixes, the opcode and the low bytes of the displacement lie on the site;
// the displacement's other bytes are the code after it, which the jump leaves as it is.
struct JumpWindow {
  uintptr_t low;   // the lowest target
  uintptr_t high;  // the highest
  size_t reach;    // the jump's length: 5 + prefixes
};
// The window of a jump with `prefixes` prefixes over the `site_length`-byte instruction at
// `site`, whose code from `site` on (at least 5 + prefixes bytes) is `code`; false when it lies
// wholly outside user space or the arguments do not make such a jump.
bool jump_window(uintptr_t site, const uint8_t* code, size_t site_length, size_t prefixes,
                 JumpWindow* out);

}  // namespace mmiotrace::codecache
