// mmiotrace: signal-safe
// Which status flags (CF PF AF ZF SF OF) an instruction reads and which it always defines, and
// which of them are live before each instruction of a block: the translator may clobber a flag
// only where it is dead. Internal to src/codecache (it sees Zydis).
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

namespace mmiotrace::codecache {

// The arithmetic status flags as RFLAGS bits: CF 0, PF 2, AF 4, ZF 6, SF 7, OF 11.
inline constexpr uint32_t kStatusFlags = 0x8d5;

struct FlagUse {
  uint32_t read = 0;     // flags whose value the instruction may use
  uint32_t defined = 0;  // flags it writes (or leaves undefined) on every execution
};

// An instruction's flag use. A flag written only sometimes (a shift by CL, which leaves the
// flags alone when CL is 0; a REP string instruction, which runs zero times when RCX is 0) is
// not defined.
FlagUse flag_use(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands);

// Where control goes after instruction i of a block: to i + 1 when it falls through, to
// `branch_target` (an index in the block) when it branches inside it, and out of the block
// (where every flag counts as live) when `leaves_block`.
struct FlagSuccessors {
  bool falls_through = true;
  bool leaves_block = false;
  int branch_target = -1;
};

// The status flags live before each of `count` instructions (`live_before[i]`), from their uses
// and successors. Branches inside the block may go backwards: iterates to the fixed point.
// Falling through the last instruction leaves the block.
void compute_live_flags(const FlagUse* uses, const FlagSuccessors* successors, size_t count,
                        uint32_t* live_before);

}  // namespace mmiotrace::codecache
