// mmiotrace: signal-safe
// Block translation into the code cache (see block_translator.hpp): decode forward, lay out,
// then emit each instruction as it is, re-encoded at its new address, or as a rel32 branch.
#include "codecache/block_translator.hpp"

#include <Zydis/Zydis.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <atomic>
#include <cstring>
#include <new>

#include "codecache/access_log.hpp"
#include "codecache/entry_patch.hpp"
#include "codecache/flag_liveness.hpp"
#include "codecache/instrumentation.hpp"
#include "codecache/region_cache.hpp"
#include "core/process_layout.hpp"
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

// What the translator knows of one instruction of the block: its one decoding, and what each
// phase adds to it.
struct PlannedInstruction {
  ZydisDecodedInstruction decoded;
  ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
  uint16_t offset;  // from the block's start
  uint8_t length;
  Kind kind;
  uint8_t condition;  // ConditionalJump: the condition code (the low nibble of its opcode)
  uintptr_t target;   // ConditionalJump, Jump: the original target
  FlagUse flags;
  uint32_t live;                // status flags live before it (liveness)
  uint32_t live_after;          // ... and after it
  uint16_t size;                // in the cache (layout)
  uint16_t cache_offset;        // (layout)
  DivertedAccessLayout layout;  // Divert (emission)
};

// One translation, phase by phase: decode_block() reads and decodes the code and sorts each
// instruction, compute_liveness() finds the live flags, lay_out() sizes each instruction's
// translation and the exit stubs, emit() writes them into code-cache memory, and describe()
// fills in the BlockTranslation. Too large for a signal stack (every instruction's decoding is
// kept, so that none is decoded twice): plans come from a small pool (acquire_plan()),
// zero-initialized, and each phase sets what it fills in.
struct TranslationPlan {
  uintptr_t start;
  bool instrument;             // accesses are instrumented
  ThreadStateOffsets offsets;  // where translated code finds its thread's state
  uint8_t bytes[kMaxBlockBytes + ZYDIS_MAX_INSTRUCTION_LENGTH];
  size_t available;  // bytes of code read
  PlannedInstruction instructions[kMaxBlockInstructions];
  size_t count;
  size_t end_offset;  // just past the last instruction
  BlockEnd ended_by;
  uintptr_t exits[kMaxBlockInstructions + 1];  // original addresses left to, one stub each
  size_t exit_count;
  uint8_t exit_flush[kMaxExitFlush];  // what every way out runs first, when diverting
  size_t exit_flush_size;
  size_t body_size;  // the translated instructions, then a jump when the block falls off
  bool falls_off_end;
  size_t code_size;      // body, fall-through jump, exit stubs
  uint8_t* description;  // where emit() put the BlockTranslation, before the code
  uint8_t* code;
  size_t diverted;

  size_t exit_stub_size() const { return exit_flush_size + kExitStubSize; }
  int index_of(uintptr_t pc) const {
    for (size_t i = 0; i < count; ++i) {
      if (start + instructions[i].offset == pc) return static_cast<int>(i);
    }
    return -1;
  }
  void add_exit(uintptr_t target) {
    for (size_t i = 0; i < exit_count; ++i) {
      if (exits[i] == target) return;
    }
    exits[exit_count++] = target;
  }
  uintptr_t exit_stub(uintptr_t target) const {
    uintptr_t stubs =
        reinterpret_cast<uintptr_t>(code) + body_size + (falls_off_end ? kJmpSize : 0);
    for (size_t i = 0; i < exit_count; ++i) {
      if (exits[i] == target) return stubs + i * exit_stub_size();
    }
    return 0;
  }
  // Where a branch to original address `target` goes in the cache.
  uintptr_t destination(uintptr_t target) const {
    int inside = index_of(target);
    return inside >= 0 ? reinterpret_cast<uintptr_t>(code) + instructions[inside].cache_offset
                       : exit_stub(target);
  }
};

// Translations made at once, by as many threads (or nested handlers) at most: a thread that
// finds every plan taken leaves its block untranslated this time.
constexpr size_t kPlans = 4;
constinit TranslationPlan g_plans[kPlans] = {};
constinit std::atomic<bool> g_plan_taken[kPlans] = {};

TranslationPlan* acquire_plan() {
  for (size_t i = 0; i < kPlans; ++i) {
    if (!g_plan_taken[i].exchange(true, std::memory_order_acquire)) return &g_plans[i];
  }
  return nullptr;
}

void release_plan(TranslationPlan* plan) {
  g_plan_taken[plan - g_plans].store(false, std::memory_order_release);
}

ZydisDecoder make_decoder() {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  return decoder;
}

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

uintptr_t BlockTranslation::cache_pc(uintptr_t pc) const {
  const TranslatedInstruction* instruction = instruction_at(pc);
  return instruction != nullptr ? reinterpret_cast<uintptr_t>(code) + instruction->cache_offset : 0;
}

namespace {

// Phase 1: reads the code (as far as it can be read: an unreadable page ends it) and decodes
// forward, sorting each instruction, until something ends the block.
bool decode_block(TranslationPlan& plan, const char** why) {
  long got = read_code(plan.bytes, plan.start, sizeof(plan.bytes));
  if (got <= 0) {
    *why = "its code cannot be read";
    return false;
  }
  plan.available = static_cast<size_t>(got);
  const ZydisDecoder decoder = make_decoder();
  size_t offset = 0;
  uintptr_t furthest_forward_target = 0;  // of the block's branches so far
  plan.count = 0;
  plan.ended_by = BlockEnd::Limit;
  while (plan.count < kMaxBlockInstructions && offset < kMaxBlockBytes) {
    PlannedInstruction& next = plan.instructions[plan.count];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, plan.bytes + offset, plan.available - offset,
                                             &next.decoded, next.operands))) {
      plan.ended_by = BlockEnd::Unreadable;
      break;
    }
    const ZydisDecodedInstruction& instruction = next.decoded;
    next.offset = static_cast<uint16_t>(offset);
    next.length = instruction.length;
    next.condition = 0;
    next.target = 0;
    next.kind =
        kind_of(instruction, next.operands, plan.start + offset, &next.target, &next.condition);
    if (next.kind == Kind::Copy && plan.instrument && can_divert(instruction, next.operands)) {
      next.kind = Kind::Divert;
    }
    next.flags = flag_use(instruction, next.operands);
    next.layout = DivertedAccessLayout();
    if (next.kind == Kind::StopBefore) {
      plan.ended_by =
          instruction.meta.category == ZYDIS_CATEGORY_CALL ? BlockEnd::Call : BlockEnd::Unsupported;
      break;
    }
    ++plan.count;
    offset += instruction.length;
    if ((next.kind == Kind::ConditionalJump || next.kind == Kind::Jump) &&
        next.target > plan.start + offset && next.target < plan.start + kMaxBlockBytes) {
      furthest_forward_target =
          next.target > furthest_forward_target ? next.target : furthest_forward_target;
    }
    bool unconditional =
        next.kind == Kind::Jump || next.kind == Kind::EndCopy || next.kind == Kind::EndReencode;
    // The code after an unconditional transfer belongs to the block when a branch of the block
    // goes there or beyond (the else of an if, the rest of a switch): decoding goes on.
    if (unconditional && plan.start + offset > furthest_forward_target) {
      plan.ended_by = next.kind == Kind::Jump                           ? BlockEnd::Jump
                      : instruction.meta.category == ZYDIS_CATEGORY_RET ? BlockEnd::Return
                                                                        : BlockEnd::IndirectBranch;
      break;
    }
  }
  plan.end_offset = offset;
  if (plan.count == 0) {
    *why = plan.ended_by == BlockEnd::Unreadable ? "its first instruction cannot be decoded"
                                                 : "its first instruction must run in place";
    return false;
  }
  return true;
}

// Phase 2: the flags live before each instruction: the instrumentation saves them only there.
void compute_liveness(TranslationPlan& plan) {
  FlagUse uses[kMaxBlockInstructions];
  FlagSuccessors successors[kMaxBlockInstructions];
  uint32_t live[kMaxBlockInstructions];
  for (size_t i = 0; i < plan.count; ++i) {
    const PlannedInstruction& next = plan.instructions[i];
    uses[i] = next.flags;
    successors[i] = FlagSuccessors();
    switch (next.kind) {
      case Kind::ConditionalJump:
      case Kind::Jump: {
        int inside = plan.index_of(next.target);
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
  compute_live_flags(uses, successors, plan.count, live);
  for (size_t i = 0; i < plan.count; ++i) {
    const FlagSuccessors& next = successors[i];
    uint32_t after = 0;
    if (next.falls_through) after |= i + 1 < plan.count ? live[i + 1] : kStatusFlags;
    if (next.branch_target >= 0) after |= live[next.branch_target];
    if (next.leaves_block) after |= kStatusFlags;
    plan.instructions[i].live = live[i];
    plan.instructions[i].live_after = after;
  }
}

// Phase 3: each instruction's size in the cache, and the exit stubs.
bool lay_out(TranslationPlan& plan, const char** why) {
  plan.exit_count = 0;
  plan.exit_flush_size = 0;
  if (plan.instrument) {
    // With instrumentation, every way out of the block first flushes the access log.
    plan.offsets = {access_log_tls_offset(), region_cache_tls_offset()};
    plan.exit_flush_size =
        build_exit_flush(plan.offsets.log, plan.exit_flush, sizeof(plan.exit_flush));
    if (plan.exit_flush_size == 0) {
      *why = "the flush on leaving the block cannot be encoded";
      return false;
    }
  }
  uint8_t scratch[kMaxDivertedAccess];
  size_t body_size = 0;
  for (size_t i = 0; i < plan.count; ++i) {
    PlannedInstruction& next = plan.instructions[i];
    const uintptr_t here = plan.start + next.offset;
    switch (next.kind) {
      case Kind::Copy:
        next.size = next.length;
        break;
      case Kind::EndCopy:
        next.size = static_cast<uint16_t>(plan.exit_flush_size + next.length);
        break;
      case Kind::Reencode:
      case Kind::EndReencode: {
        // A RIP-relative displacement is always 32 bits: the length does not depend on where.
        next.size = static_cast<uint16_t>(
            reencode(next.decoded, next.operands, here, here, scratch, sizeof(scratch)));
        if (next.size == 0) {
          *why = "an instruction with a RIP-relative operand cannot be re-encoded";
          return false;
        }
        if (next.kind == Kind::EndReencode) {
          next.size = static_cast<uint16_t>(next.size + plan.exit_flush_size);
        }
        break;
      }
      case Kind::ConditionalJump:
        next.size = kJccSize;
        if (plan.index_of(next.target) < 0) plan.add_exit(next.target);
        break;
      case Kind::Jump:
        next.size = kJmpSize;
        if (plan.index_of(next.target) < 0) plan.add_exit(next.target);
        break;
      case Kind::Divert:
        next.size = static_cast<uint16_t>(build_diverted_access(
            next.decoded, next.operands, here, plan.bytes + next.offset,
            {next.live != 0, next.live_after != 0}, plan.offsets, scratch, sizeof(scratch)));
        if (next.size == 0) {  // it cannot be instrumented: copied as it is
          next.size = next.length;
          next.kind = Kind::Copy;
        }
        break;
      case Kind::StopBefore:
        break;
    }
    next.cache_offset = static_cast<uint16_t>(body_size);
    body_size += next.size;
  }
  const Kind last = plan.instructions[plan.count - 1].kind;
  plan.falls_off_end = last != Kind::Jump && last != Kind::EndCopy && last != Kind::EndReencode;
  if (plan.falls_off_end) plan.add_exit(plan.start + plan.end_offset);
  plan.body_size = body_size;
  plan.code_size =
      body_size + (plan.falls_off_end ? kJmpSize : 0) + plan.exit_count * plan.exit_stub_size();
  return true;
}

// Phase 4: into code-cache memory near the code, each instruction as it is, re-encoded at its
// new address, instrumented, or as a rel32 branch; then the exit stubs.
bool emit(TranslationPlan& plan, const char** why) {
  constexpr size_t kDescription =
      (sizeof(BlockTranslation) + x86::kNearGranule - 1) & ~(x86::kNearGranule - 1);
  uint8_t* memory = x86::allocate_code_near(plan.start, kDescription + plan.code_size);
  if (memory == nullptr) {
    *why = "no code-cache memory within reach of it";
    return false;
  }
  plan.description = memory;
  plan.code = memory + kDescription;
  const auto cache = reinterpret_cast<uintptr_t>(plan.code);
  plan.diverted = 0;
  for (size_t i = 0; i < plan.count; ++i) {
    PlannedInstruction& next = plan.instructions[i];
    uint8_t* at = plan.code + next.cache_offset;
    const uintptr_t here = cache + next.cache_offset;
    const uintptr_t original = plan.start + next.offset;
    const uint8_t* bytes = plan.bytes + next.offset;
    switch (next.kind) {
      case Kind::Copy:
        std::memcpy(at, bytes, next.length);
        break;
      case Kind::EndCopy:
        std::memcpy(at, plan.exit_flush, plan.exit_flush_size);
        std::memcpy(at + plan.exit_flush_size, bytes, next.length);
        break;
      case Kind::Reencode:
      case Kind::EndReencode: {
        size_t prefix = next.kind == Kind::EndReencode ? plan.exit_flush_size : 0;
        std::memcpy(at, plan.exit_flush, prefix);
        size_t length = prefix + reencode(next.decoded, next.operands, original, here + prefix,
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
        put_rel32(at + 2, here + kJccSize, plan.destination(next.target));
        break;
      case Kind::Jump:
        at[0] = 0xe9;
        put_rel32(at + 1, here + kJmpSize, plan.destination(next.target));
        break;
      case Kind::Divert: {
        size_t length = build_diverted_access(next.decoded, next.operands, original, bytes,
                                              {next.live != 0, next.live_after != 0}, plan.offsets,
                                              at, next.size, &next.layout);
        if (length != next.size) {
          *why = "an instrumented access changed length";
          return false;
        }
        ++plan.diverted;
        break;
      }
      case Kind::StopBefore:
        break;
    }
  }
  if (plan.falls_off_end) {
    uint8_t* at = plan.code + plan.body_size;
    at[0] = 0xe9;
    put_rel32(at + 1, cache + plan.body_size + kJmpSize,
              plan.exit_stub(plan.start + plan.end_offset));
  }
  for (size_t i = 0; i < plan.exit_count; ++i) {
    auto* at = reinterpret_cast<uint8_t*>(plan.exit_stub(plan.exits[i]));
    std::memcpy(at, plan.exit_flush, plan.exit_flush_size);
    at += plan.exit_flush_size;
    static constexpr uint8_t kJumpThroughNext[6] = {0xff, 0x25, 0, 0, 0, 0};
    std::memcpy(at, kJumpThroughNext, sizeof(kJumpThroughNext));
    std::memcpy(at + sizeof(kJumpThroughNext), &plan.exits[i], sizeof(uintptr_t));
  }
  return true;
}

// Phase 5: what the rest of the code cache keeps of the translation.
void describe(const TranslationPlan& plan, BlockTranslation* out) {
  out->start = plan.start;
  out->end = plan.start + plan.end_offset;
  out->code = plan.code;
  out->body_size = static_cast<uint32_t>(plan.body_size);
  out->code_size = static_cast<uint32_t>(plan.code_size);
  out->ended_by = plan.ended_by;
  out->instruction_count = static_cast<uint16_t>(plan.count);
  out->exit_count = static_cast<uint16_t>(plan.exit_count);
  out->diverted_count = static_cast<uint16_t>(plan.diverted);
  for (size_t i = 0; i < plan.exit_count && i < BlockTranslation::kMaxRecordedExits; ++i) {
    out->exit_targets[i] = plan.exits[i];
  }
  std::memcpy(out->original, plan.bytes, plan.end_offset);
  for (size_t i = 0; i < plan.count; ++i) {
    const PlannedInstruction& next = plan.instructions[i];
    out->instructions[i] = {next.offset,
                            next.cache_offset,
                            next.length,
                            next.kind == Kind::Divert,
                            next.live,
                            next.layout.critical_begin,
                            next.layout.critical_end};
  }
}

// A translation whose phases have run: its description is made in the memory emit() took,
// before the code, and published as the owner of the code's granules (x86/code_arena.hpp).
const BlockTranslation* publish(const TranslationPlan& plan) {
  auto* block = new (plan.description) BlockTranslation();
  describe(plan, block);
  x86::set_near_owner(plan.code, plan.code_size, block);
  return block;
}

// The phases before emission, for a plan whose start and instrumentation are set.
bool plan_block(TranslationPlan& plan, const char** why) {
  if (!decode_block(plan, why)) return false;
  compute_liveness(plan);
  return lay_out(plan, why);
}

bool diverts(const TranslationPlan& plan, uintptr_t pc) {
  int index = plan.index_of(pc);
  return index >= 0 && plan.instructions[index].kind == Kind::Divert;
}

// How far before a faulting access the head of its loop is looked for.
constexpr uintptr_t kLoopHeadReach = 256;

// A plan from the head of the loop `site` is in, when the plan from `site` branches back a
// little before it and the loop's block instruments `site` too; in `loop`. False otherwise.
bool plan_loop_head(const TranslationPlan& from_site, uintptr_t site, TranslationPlan& loop) {
  for (size_t i = 0; i < from_site.exit_count; ++i) {
    uintptr_t head = from_site.exits[i];
    if (head >= site || site - head > kLoopHeadReach) continue;
    loop.start = head;
    loop.instrument = true;
    const char* why = "";
    if (plan_block(loop, &why) && diverts(loop, site)) return true;
  }
  return false;
}

}  // namespace

bool BlockTranslation::still_holds(uintptr_t pc) const {
  const TranslatedInstruction* instruction = instruction_at(pc);
  if (instruction == nullptr) return false;
  if (std::memcmp(reinterpret_cast<const void*>(pc), original + instruction->original_offset,
                  instruction->length) == 0) {
    return true;
  }
  // Not the bytes in place: perhaps a patch of ours there (read_code() shows what it replaced).
  uint8_t seen[15];
  long got = read_code(seen, pc, instruction->length);
  return got == instruction->length &&
         std::memcmp(seen, original + instruction->original_offset, instruction->length) == 0;
}

const BlockTranslation* translate_block(uintptr_t start, const char** why, bool instrument) {
  TranslationPlan* plan = acquire_plan();
  if (plan == nullptr) {
    *why = "other translations are under way";
    return nullptr;
  }
  plan->start = start;
  plan->instrument = instrument;
  const BlockTranslation* block = nullptr;
  if (plan_block(*plan, why) && emit(*plan, why)) block = publish(*plan);
  release_plan(plan);
  return block;
}

const BlockTranslation* translate_site(uintptr_t site, const char** why, bool* lasting) {
  *lasting = true;
  SelfMapping mapping;
  if (!self_mapping_of(site, &mapping) || !mapping.file || mapping.writable ||
      !mapping.executable) {
    *why = "its code is not in a read-only file mapping";
    return nullptr;
  }
  TranslationPlan* plan = acquire_plan();
  if (plan == nullptr) {
    *why = "other translations are under way";
    *lasting = false;
    return nullptr;
  }
  plan->start = site;
  plan->instrument = true;
  const BlockTranslation* block = nullptr;
  if (!plan_block(*plan, why)) {
    release_plan(plan);
    return nullptr;
  }
  if (!diverts(*plan, site)) {
    *why = "its access is not one translated code makes";
    release_plan(plan);
    return nullptr;
  }
  TranslationPlan* chosen = plan;
  TranslationPlan* loop = acquire_plan();  // (none free: the block from the site will do)
  if (loop != nullptr && plan_loop_head(*plan, site, *loop)) chosen = loop;
  if (emit(*chosen, why)) block = publish(*chosen);
  if (loop != nullptr) release_plan(loop);
  release_plan(plan);
  return block;
}

}  // namespace mmiotrace::codecache
