// mmiotrace: signal-safe
// Block translation into the code cache (see block_translator.hpp): decode forward, lay out,
// then emit each instruction as it is, re-encoded at its new address, or as a rel32 branch.
#include "codecache/block_translator.hpp"

#include <Zydis/Zydis.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cstring>

#include "codecache/access_log.hpp"
#include "codecache/entry_patch.hpp"
#include "codecache/flag_liveness.hpp"
#include "codecache/instrumentation.hpp"
#include "core/syscall.hpp"
#include "x86/code_arena.hpp"

namespace mmiotrace::codecache {
namespace {

constexpr size_t kExitStubSize = 14;  // jmp *0(%rip); .quad target
constexpr size_t kJccSize = 6;        // 0f 8x rel32
constexpr size_t kJmpSize = 5;        // e9 rel32

// What the translator does with an instruction.
enum class Kind : uint8_t {
  Copy,      // its bytes, as they are
  Reencode,  // re-encoded at its new address (a RIP-relative operand)
  ConditionalJump,
  Jump,
  EndCopy,  // copied (or re-encoded), and the block ends after it: ret, indirect jump
  EndReencode,
  StopBefore,  // not translated: the block ends before it
  Divert,      // instrumented (instrumentation.hpp)
};

struct PlannedInstruction {
  uint16_t offset;  // from the block's start
  uint8_t length;
  Kind kind;
  uint8_t condition;  // ConditionalJump: the condition code (the low nibble of its opcode)
  uint16_t size;      // in the cache
  uint16_t cache_offset;
  uintptr_t target;  // ConditionalJump, Jump: the original target
  FlagUse flags;
  DivertedAccessLayout layout;  // Divert
};

struct Decoder {
  ZydisDecoder decoder;
  Decoder() { ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64); }
  bool decode(const uint8_t* bytes, size_t size, ZydisDecodedInstruction* instruction,
              ZydisDecodedOperand* operands) const {
    return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, bytes, size, instruction, operands));
  }
};

bool has_rip_relative_operand(const ZydisDecodedInstruction& instruction,
                              const ZydisDecodedOperand* operands) {
  for (uint8_t i = 0; i < instruction.operand_count; ++i) {
    if (operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
        operands[i].mem.base == ZYDIS_REGISTER_RIP) {
      return true;
    }
  }
  return false;
}

// The instruction at its new address `runtime`, with its RIP-relative operands still reaching
// what they reached from `original`. Returns its length, 0 when it cannot be encoded.
size_t reencode(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
                uintptr_t original, uintptr_t runtime, uint8_t* out, size_t room) {
  ZydisEncoderRequest request;
  if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
          &instruction, operands, instruction.operand_count_visible, &request))) {
    return 0;
  }
  for (uint8_t i = 0; i < request.operand_count; ++i) {
    ZydisEncoderOperand& operand = request.operands[i];
    if (operand.type == ZYDIS_OPERAND_TYPE_MEMORY && operand.mem.base == ZYDIS_REGISTER_RIP) {
      // The encoder takes the absolute address and works out the displacement itself.
      operand.mem.displacement = static_cast<int64_t>(
          original + instruction.length + static_cast<uint64_t>(operand.mem.displacement));
    }
  }
  ZyanUSize length = room;
  if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&request, out, &length, runtime))) {
    return 0;
  }
  return length;
}

// Sorts an instruction into what the translator does with it.
Kind kind_of(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
             uintptr_t pc, uintptr_t* target, uint8_t* condition) {
  const bool rip_relative = has_rip_relative_operand(instruction, operands);
  switch (instruction.meta.category) {
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_INTERRUPT:
    case ZYDIS_CATEGORY_SYSTEM:
      return Kind::StopBefore;
    case ZYDIS_CATEGORY_RET:
      return Kind::EndCopy;
    default:
      break;
  }
  if (instruction.mnemonic == ZYDIS_MNEMONIC_UD0 || instruction.mnemonic == ZYDIS_MNEMONIC_UD1 ||
      instruction.mnemonic == ZYDIS_MNEMONIC_UD2 || instruction.mnemonic == ZYDIS_MNEMONIC_HLT ||
      instruction.mnemonic == ZYDIS_MNEMONIC_XBEGIN) {  // xbegin's fallback address is relative
    return Kind::StopBefore;
  }
  if (instruction.meta.category == ZYDIS_CATEGORY_UNCOND_BR) {
    if (operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && operands[0].imm.is_relative) {
      *target = pc + instruction.length + static_cast<uint64_t>(operands[0].imm.value.s);
      return Kind::Jump;
    }
    return rip_relative ? Kind::EndReencode : Kind::EndCopy;
  }
  if (instruction.meta.category == ZYDIS_CATEGORY_COND_BR) {
    // loop, loope, loopne and jrcxz have only an 8-bit displacement: left in place.
    bool jcc = (instruction.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && instruction.opcode >= 0x70 &&
                instruction.opcode <= 0x7f) ||
               (instruction.opcode_map == ZYDIS_OPCODE_MAP_0F && instruction.opcode >= 0x80 &&
                instruction.opcode <= 0x8f);
    if (!jcc || operands[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) return Kind::StopBefore;
    *condition = instruction.opcode & 0x0f;
    *target = pc + instruction.length + static_cast<uint64_t>(operands[0].imm.value.s);
    return Kind::ConditionalJump;
  }
  if (instruction.attributes & ZYDIS_ATTRIB_IS_RELATIVE) {
    return rip_relative ? Kind::Reencode : Kind::StopBefore;  // anything else relative to RIP
  }
  return rip_relative ? Kind::Reencode : Kind::Copy;
}

// Reads up to `size` bytes of code at `address`, stopping at the first page that cannot be
// read. process_vm_readv never splits one iovec, so the first page gets one of its own.
}  // namespace

long read_code(uint8_t* out, uintptr_t address, size_t size) {
  constexpr uintptr_t kPage = 4096;
  size_t first = static_cast<size_t>(kPage - (address & (kPage - 1)));
  if (first > size) first = size;
  struct iovec local = {out, size};
  struct iovec remote[2] = {{reinterpret_cast<void*>(address), first},
                            {reinterpret_cast<void*>(address + first), size - first}};
  long got = sys::syscall6(SYS_process_vm_readv, sys::syscall6(SYS_getpid), sys::as_long(&local), 1,
                           sys::as_long(remote), size > first ? 2 : 1, 0);
  if (got > 0) show_original_code(out, address, static_cast<size_t>(got));  // not our jumps
  return got;
}

namespace {

void put_rel32(uint8_t* at, uintptr_t from_end, uintptr_t to) {
  auto rel = static_cast<int32_t>(static_cast<int64_t>(to - from_end));
  std::memcpy(at, &rel, sizeof(rel));
}

}  // namespace

uintptr_t BlockTranslation::original_pc(uintptr_t pc) const {
  if (code == nullptr || pc < reinterpret_cast<uintptr_t>(code)) return 0;
  uintptr_t offset = pc - reinterpret_cast<uintptr_t>(code);
  if (offset >= body_size) return 0;
  for (size_t i = instruction_count; i-- > 0;) {
    if (instructions[i].cache_offset <= offset) return start + instructions[i].original_offset;
  }
  return 0;
}

bool BlockTranslation::in_critical_part(uintptr_t cache_pc) const {
  if (code == nullptr || cache_pc < reinterpret_cast<uintptr_t>(code)) return false;
  uintptr_t offset = cache_pc - reinterpret_cast<uintptr_t>(code);
  if (offset >= body_size) return false;
  for (size_t i = instruction_count; i-- > 0;) {
    const TranslatedInstruction& instruction = instructions[i];
    if (instruction.cache_offset > offset) continue;
    uintptr_t within = offset - instruction.cache_offset;
    return instruction.diverted && within >= instruction.critical_begin &&
           within < instruction.critical_end;
  }
  return false;
}

const TranslatedInstruction* BlockTranslation::instruction_at(uintptr_t pc) const {
  for (size_t i = 0; i < instruction_count; ++i) {
    if (start + instructions[i].original_offset == pc) return &instructions[i];
  }
  return nullptr;
}

bool BlockTranslation::diverts(uintptr_t pc) const {
  const TranslatedInstruction* instruction = instruction_at(pc);
  return instruction != nullptr && instruction->diverted;
}

uint64_t code_digest_of(const uint8_t* bytes, size_t size) {
  uint64_t digest = 0xcbf29ce484222325ull;  // FNV-1a
  for (size_t i = 0; i < size; ++i)
    digest = (digest ^ bytes[i]) * 0x100000001b3ull;
  return digest;
}

uintptr_t BlockTranslation::cache_pc(uintptr_t pc) const {
  const TranslatedInstruction* instruction = instruction_at(pc);
  return instruction != nullptr ? reinterpret_cast<uintptr_t>(code) + instruction->cache_offset : 0;
}

bool translate_block(uintptr_t start, BlockTranslation* out, const char** why,
                     const DivertTarget* divert) {
  // The code, as far as it can be read (process_vm_readv stops at an unreadable page).
  uint8_t bytes[kMaxBlockBytes + ZYDIS_MAX_INSTRUCTION_LENGTH];
  long got = read_code(bytes, start, sizeof(bytes));
  if (got <= 0) {
    *why = "its code cannot be read";
    return false;
  }
  const size_t available = static_cast<size_t>(got);
  const Decoder decoder;
  ZydisDecodedInstruction instruction;
  ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];

  // 1. Decode forward, sorting each instruction, until something ends the block.
  PlannedInstruction planned[kMaxBlockInstructions];
  size_t count = 0;
  size_t offset = 0;
  BlockEnd ended_by = BlockEnd::Limit;
  uintptr_t furthest_forward_target = 0;  // of the block's branches so far
  while (count < kMaxBlockInstructions && offset < kMaxBlockBytes) {
    if (!decoder.decode(bytes + offset, available - offset, &instruction, operands)) {
      ended_by = BlockEnd::Unreadable;
      break;
    }
    PlannedInstruction& next = planned[count];
    next = PlannedInstruction();
    next.offset = static_cast<uint16_t>(offset);
    next.length = instruction.length;
    next.kind = kind_of(instruction, operands, start + offset, &next.target, &next.condition);
    if (next.kind == Kind::Copy && divert != nullptr && can_divert(instruction, operands)) {
      next.kind = Kind::Divert;
    }
    next.flags = flag_use(instruction, operands);
    if (next.kind == Kind::StopBefore) {
      ended_by =
          instruction.meta.category == ZYDIS_CATEGORY_CALL ? BlockEnd::Call : BlockEnd::Unsupported;
      break;
    }
    ++count;
    offset += instruction.length;
    if ((next.kind == Kind::ConditionalJump || next.kind == Kind::Jump) &&
        next.target > start + offset && next.target < start + kMaxBlockBytes) {
      furthest_forward_target =
          next.target > furthest_forward_target ? next.target : furthest_forward_target;
    }
    bool unconditional =
        next.kind == Kind::Jump || next.kind == Kind::EndCopy || next.kind == Kind::EndReencode;
    // The code after an unconditional transfer belongs to the block when a branch of the block
    // goes there or beyond (the else of an if, the rest of a switch): decoding goes on.
    if (unconditional && start + offset > furthest_forward_target) {
      ended_by = next.kind == Kind::Jump                           ? BlockEnd::Jump
                 : instruction.meta.category == ZYDIS_CATEGORY_RET ? BlockEnd::Return
                                                                   : BlockEnd::IndirectBranch;
      break;
    }
  }
  if (count == 0) {
    *why = ended_by == BlockEnd::Unreadable ? "its first instruction cannot be decoded"
                                            : "its first instruction must run in place";
    return false;
  }
  const uintptr_t end = start + offset;
  auto index_of = [&](uintptr_t pc) -> int {
    for (size_t i = 0; i < count; ++i) {
      if (start + planned[i].offset == pc) return static_cast<int>(i);
    }
    return -1;
  };

  // 2. The flags live before each instruction: the instrumentation saves them only there.
  FlagUse uses[kMaxBlockInstructions];
  FlagSuccessors successors[kMaxBlockInstructions];
  uint32_t live[kMaxBlockInstructions];
  for (size_t i = 0; i < count; ++i) {
    const PlannedInstruction& next = planned[i];
    uses[i] = next.flags;
    successors[i] = FlagSuccessors();
    switch (next.kind) {
      case Kind::ConditionalJump:
      case Kind::Jump: {
        int inside = index_of(next.target);
        successors[i].branch_target = inside;
        successors[i].leaves_block = inside < 0;
        successors[i].falls_through = next.kind == Kind::ConditionalJump;
        break;
      }
      case Kind::EndCopy:
      case Kind::EndReencode:
        successors[i].falls_through = false;
        successors[i].leaves_block = true;
        break;
      default:
        break;
    }
  }
  compute_live_flags(uses, successors, count, live);

  // 3. Lay out: each instruction's size in the cache, then the exit stubs.
  uint8_t scratch[ZYDIS_MAX_INSTRUCTION_LENGTH];
  uintptr_t exits[kMaxBlockInstructions + 1];
  size_t exit_count = 0;
  auto add_exit = [&](uintptr_t target) {
    for (size_t i = 0; i < exit_count; ++i) {
      if (exits[i] == target) return;
    }
    exits[exit_count++] = target;
  };
  const intptr_t log_offset = divert != nullptr ? access_log_tls_offset() : 0;
  // With a divert target, every way out of the block first flushes the access log.
  uint8_t exit_flush[kMaxExitFlush];
  size_t exit_flush_size = 0;
  if (divert != nullptr) {
    exit_flush_size = build_exit_flush(log_offset, exit_flush, sizeof(exit_flush));
    if (exit_flush_size == 0) {
      *why = "the flush on leaving the block cannot be encoded";
      return false;
    }
  }
  const size_t exit_stub_size = exit_flush_size + kExitStubSize;
  size_t body_size = 0;
  for (size_t i = 0; i < count; ++i) {
    PlannedInstruction& next = planned[i];
    switch (next.kind) {
      case Kind::Copy:
        next.size = next.length;
        break;
      case Kind::EndCopy:
        next.size = static_cast<uint16_t>(exit_flush_size + next.length);
        break;
      case Kind::Reencode:
      case Kind::EndReencode: {
        // A RIP-relative displacement is always 32 bits: the length does not depend on where.
        decoder.decode(bytes + next.offset, available - next.offset, &instruction, operands);
        uintptr_t here = start + next.offset;
        next.size = static_cast<uint16_t>(
            reencode(instruction, operands, here, here, scratch, sizeof(scratch)));
        if (next.size == 0) {
          *why = "an instruction with a RIP-relative operand cannot be re-encoded";
          return false;
        }
        if (next.kind == Kind::EndReencode)
          next.size = static_cast<uint16_t>(next.size + exit_flush_size);
        break;
      }
      case Kind::ConditionalJump:
        next.size = kJccSize;
        if (index_of(next.target) < 0) add_exit(next.target);
        break;
      case Kind::Jump:
        next.size = kJmpSize;
        if (index_of(next.target) < 0) add_exit(next.target);
        break;
      case Kind::Divert: {
        decoder.decode(bytes + next.offset, available - next.offset, &instruction, operands);
        uint8_t sequence[kMaxDivertedAccess];
        next.size = static_cast<uint16_t>(
            build_diverted_access(instruction, operands, start + next.offset, bytes + next.offset,
                                  live[i] != 0, *divert, log_offset, sequence, sizeof(sequence)));
        if (next.size == 0) {  // it cannot be instrumented: copied as it is
          next.size = next.length;
          next.kind = Kind::Copy;
        }
        break;
      }
      case Kind::StopBefore:
        break;
    }
    next.cache_offset = static_cast<uint16_t>(body_size);
    body_size += next.size;
  }
  const Kind last = planned[count - 1].kind;
  const bool falls_off_end =
      last != Kind::Jump && last != Kind::EndCopy && last != Kind::EndReencode;
  if (falls_off_end) add_exit(end);
  const size_t fall_through_size = falls_off_end ? kJmpSize : 0;
  const size_t code_size = body_size + fall_through_size + exit_count * exit_stub_size;

  uint8_t* code = x86::allocate_code_near(start, code_size);
  if (code == nullptr) {
    *why = "no code-cache memory within reach of it";
    return false;
  }
  const auto cache = reinterpret_cast<uintptr_t>(code);
  const uintptr_t stubs = cache + body_size + fall_through_size;
  auto exit_stub = [&](uintptr_t target) -> uintptr_t {
    for (size_t i = 0; i < exit_count; ++i) {
      if (exits[i] == target) return stubs + i * exit_stub_size;
    }
    return 0;
  };
  auto destination = [&](uintptr_t target) -> uintptr_t {
    int inside = index_of(target);
    return inside >= 0 ? cache + planned[inside].cache_offset : exit_stub(target);
  };

  // 4. Emit.
  size_t diverted = 0;
  for (size_t i = 0; i < count; ++i) {
    PlannedInstruction& next = planned[i];  // (its layout is filled in)
    uint8_t* at = code + next.cache_offset;
    const uintptr_t here = cache + next.cache_offset;
    switch (next.kind) {
      case Kind::Copy:
        std::memcpy(at, bytes + next.offset, next.length);
        break;
      case Kind::EndCopy:
        std::memcpy(at, exit_flush, exit_flush_size);
        std::memcpy(at + exit_flush_size, bytes + next.offset, next.length);
        break;
      case Kind::Reencode:
      case Kind::EndReencode: {
        decoder.decode(bytes + next.offset, available - next.offset, &instruction, operands);
        size_t prefix = next.kind == Kind::EndReencode ? exit_flush_size : 0;
        std::memcpy(at, exit_flush, prefix);
        size_t length = prefix + reencode(instruction, operands, start + next.offset, here + prefix,
                                          at + prefix, next.size - prefix);
        if (length != next.size) {
          *why = "an instruction with a RIP-relative operand changed length when re-encoded";
          return false;  // the memory stays allocated, unused: the arena never frees
        }
        break;
      }
      case Kind::ConditionalJump:
        at[0] = 0x0f;
        at[1] = static_cast<uint8_t>(0x80 | next.condition);
        put_rel32(at + 2, here + kJccSize, destination(next.target));
        break;
      case Kind::Jump:
        at[0] = 0xe9;
        put_rel32(at + 1, here + kJmpSize, destination(next.target));
        break;
      case Kind::Divert: {
        decoder.decode(bytes + next.offset, available - next.offset, &instruction, operands);
        size_t length =
            build_diverted_access(instruction, operands, start + next.offset, bytes + next.offset,
                                  live[i] != 0, *divert, log_offset, at, next.size, &next.layout);
        if (length != next.size) {
          *why = "an instrumented access changed length";
          return false;
        }
        ++diverted;
        break;
      }
      case Kind::StopBefore:
        break;
    }
  }
  if (falls_off_end) {
    uint8_t* at = code + body_size;
    at[0] = 0xe9;
    put_rel32(at + 1, cache + body_size + kJmpSize, exit_stub(end));
  }
  for (size_t i = 0; i < exit_count; ++i) {
    uint8_t* at = code + (stubs - cache) + i * exit_stub_size;
    std::memcpy(at, exit_flush, exit_flush_size);
    at += exit_flush_size;
    static constexpr uint8_t kJumpThroughNext[6] = {0xff, 0x25, 0, 0, 0, 0};
    std::memcpy(at, kJumpThroughNext, sizeof(kJumpThroughNext));
    std::memcpy(at + sizeof(kJumpThroughNext), &exits[i], sizeof(uintptr_t));
  }

  out->start = start;
  out->end = end;
  out->code = code;
  out->body_size = static_cast<uint32_t>(body_size);
  out->code_size = static_cast<uint32_t>(code_size);
  out->ended_by = ended_by;
  out->instruction_count = static_cast<uint16_t>(count);
  out->exit_count = static_cast<uint16_t>(exit_count);
  out->diverted_count = static_cast<uint16_t>(diverted);
  for (size_t i = 0; i < exit_count && i < BlockTranslation::kMaxRecordedExits; ++i) {
    out->exit_targets[i] = exits[i];
  }
  out->code_digest = code_digest_of(bytes, offset);
  for (size_t i = 0; i < count; ++i) {
    out->instructions[i] = {planned[i].offset,
                            planned[i].cache_offset,
                            planned[i].length,
                            planned[i].kind == Kind::Divert,
                            live[i],
                            planned[i].layout.critical_begin,
                            planned[i].layout.critical_end};
  }
  return true;
}

}  // namespace mmiotrace::codecache
