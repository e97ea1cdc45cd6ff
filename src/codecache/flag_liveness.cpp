// mmiotrace: signal-safe
// Flag use of instructions and the backward liveness of status flags over a block (see
// flag_liveness.hpp).
#include "codecache/flag_liveness.hpp"

namespace mmiotrace::codecache {
namespace {

bool is_shift_or_rotate(ZydisMnemonic mnemonic) {
  switch (mnemonic) {
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR:
    case ZYDIS_MNEMONIC_SHLD:
    case ZYDIS_MNEMONIC_SHRD:
      return true;
    default:
      return false;
  }
}

// Whether a shift or rotate always changes the flags: its count is an immediate that is not 0
// once masked (a count in CL may be 0, and then the flags stay as they were).
bool shift_always_writes_flags(const ZydisDecodedInstruction& instruction,
                               const ZydisDecodedOperand* operands) {
  const ZydisDecodedOperand& count = operands[instruction.operand_count_visible - 1];
  if (count.type != ZYDIS_OPERAND_TYPE_IMMEDIATE) return false;
  uint64_t mask = instruction.operand_width == 64 ? 0x3f : 0x1f;
  return (count.imm.value.u & mask) != 0;
}

}  // namespace

FlagUse flag_use(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands) {
  FlagUse use;
  const ZydisAccessedFlags* flags = instruction.cpu_flags;
  if (flags == nullptr) return use;
  use.read = flags->tested & kStatusFlags;
  use.defined = (flags->modified | flags->set_0 | flags->set_1 | flags->undefined) & kStatusFlags;
  bool repeated = (instruction.attributes &
                   (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;
  if (repeated) use.defined = 0;
  if (is_shift_or_rotate(instruction.mnemonic) &&
      !shift_always_writes_flags(instruction, operands)) {
    use.defined = 0;  // a shift by 0 passes on the flags that came in
  }
  return use;
}

void compute_live_flags(const FlagUse* uses, const FlagSuccessors* successors, size_t count,
                        uint32_t* live_before) {
  for (size_t i = 0; i < count; ++i)
    live_before[i] = 0;
  // Liveness only grows, one flag at a time at most per pass: the passes are bounded.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t k = count; k-- > 0;) {
      const FlagSuccessors& next = successors[k];
      uint32_t live_after = 0;
      if (next.leaves_block || (next.falls_through && k + 1 == count)) live_after = kStatusFlags;
      if (next.falls_through && k + 1 < count) live_after |= live_before[k + 1];
      if (next.branch_target >= 0 && static_cast<size_t>(next.branch_target) < count) {
        live_after |= live_before[next.branch_target];
      }
      uint32_t live = uses[k].read | (live_after & ~uses[k].defined);
      if (live != live_before[k]) {
        live_before[k] = live;
        changed = true;
      }
    }
  }
}

}  // namespace mmiotrace::codecache
