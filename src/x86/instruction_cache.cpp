// mmiotrace: signal-safe
// The shared cache of decoded instructions, and how each is to be emulated (see
// instruction_cache.hpp).
#include "x86/instruction_cache.hpp"

#include <atomic>
#include <cstring>
#include <new>

#include "x86/code_arena.hpp"
#include "x86/decoder_internal.hpp"
#include "x86/stub_builder.hpp"

namespace mmiotrace::x86 {
namespace {

constexpr size_t kSlotBits = 16;
constexpr size_t kSlots = size_t{1} << kSlotBits;
constexpr size_t kProbes = 16;

constinit std::atomic<CachedInstruction*> g_slots[kSlots] = {};

size_t slot_of(uintptr_t pc) {
  return static_cast<size_t>((pc * 0x9e3779b97f4a7c15ull) >> (64 - kSlotBits));
}

bool is_string_instruction(ZydisMnemonic mnemonic, StringOp* op) {
  switch (mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB:
    case ZYDIS_MNEMONIC_MOVSW:
    case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVSQ:
      *op = StringOp::Movs;
      return true;
    case ZYDIS_MNEMONIC_STOSB:
    case ZYDIS_MNEMONIC_STOSW:
    case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ:
      *op = StringOp::Stos;
      return true;
    case ZYDIS_MNEMONIC_LODSB:
    case ZYDIS_MNEMONIC_LODSW:
    case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_LODSQ:
      *op = StringOp::Lods;
      return true;
    case ZYDIS_MNEMONIC_CMPSB:
    case ZYDIS_MNEMONIC_CMPSW:
    case ZYDIS_MNEMONIC_CMPSD:
    case ZYDIS_MNEMONIC_CMPSQ:
      *op = StringOp::Cmps;
      return true;
    case ZYDIS_MNEMONIC_SCASB:
    case ZYDIS_MNEMONIC_SCASW:
    case ZYDIS_MNEMONIC_SCASD:
    case ZYDIS_MNEMONIC_SCASQ:
      *op = StringOp::Scas;
      return true;
    default:
      return false;
  }
}

// Whether the instruction reads memory only where a mask selects: an EVEX instruction with a
// mask register other than k0 (the CPU suppresses the faults of the elements left out), or
// VMASKMOV/VPMASKMOV.
bool reads_under_a_mask(const ZydisDecodedInstruction& insn) {
  switch (insn.mnemonic) {
    case ZYDIS_MNEMONIC_VMASKMOVPS:
    case ZYDIS_MNEMONIC_VMASKMOVPD:
    case ZYDIS_MNEMONIC_VPMASKMOVD:
    case ZYDIS_MNEMONIC_VPMASKMOVQ:
      return true;
    default:
      break;
  }
  return insn.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX &&
         insn.avx.mask.mode != ZYDIS_MASK_MODE_DISABLED &&
         insn.avx.mask.reg != ZYDIS_REGISTER_NONE && insn.avx.mask.reg != ZYDIS_REGISTER_K0;
}

// Stores whose kind a plain store would lose: non-temporal, masked, direct.
bool stores_in_its_own_way(ZydisMnemonic mnemonic) {
  switch (mnemonic) {
    case ZYDIS_MNEMONIC_MOVNTI:
    case ZYDIS_MNEMONIC_MOVNTDQ:
    case ZYDIS_MNEMONIC_MOVNTPS:
    case ZYDIS_MNEMONIC_MOVNTPD:
    case ZYDIS_MNEMONIC_MOVNTQ:
    case ZYDIS_MNEMONIC_MOVNTSD:
    case ZYDIS_MNEMONIC_MOVNTSS:
    case ZYDIS_MNEMONIC_VMOVNTDQ:
    case ZYDIS_MNEMONIC_VMOVNTPS:
    case ZYDIS_MNEMONIC_VMOVNTPD:
    case ZYDIS_MNEMONIC_MOVDIRI:
    case ZYDIS_MNEMONIC_MOVDIR64B:
    case ZYDIS_MNEMONIC_MASKMOVDQU:
    case ZYDIS_MNEMONIC_VMASKMOVDQU:
    case ZYDIS_MNEMONIC_MASKMOVQ:
    case ZYDIS_MNEMONIC_VMASKMOVPS:
    case ZYDIS_MNEMONIC_VMASKMOVPD:
    case ZYDIS_MNEMONIC_VPMASKMOVD:
    case ZYDIS_MNEMONIC_VPMASKMOVQ:
      return true;
    default:
      return false;
  }
}

bool changes_control_flow(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops) {
  for (unsigned i = 0; i < insn.operand_count; ++i) {
    if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[i].reg.value == ZYDIS_REGISTER_RIP &&
        (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)) {
      return true;
    }
  }
  return false;
}

// Fills `plan` for an instruction with at least one memory operand.
void make_plan(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops,
               const Instruction& instruction, EmulationPlan* plan) {
  auto unsupported = [plan](const char* reason) {
    plan->kind = PlanKind::Unsupported;
    plan->reason = reason;
  };
  if (instruction.memory_operand_count == 0) return unsupported("it has no memory operand");
  for (unsigned i = 0; i < insn.operand_count; ++i) {
    if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.type != ZYDIS_MEMOP_TYPE_MEM &&
        ops[i].mem.type != ZYDIS_MEMOP_TYPE_AGEN) {
      return unsupported("it addresses memory through a vector index (gather/scatter)");
    }
  }
  if (changes_control_flow(insn, ops)) return unsupported("it jumps through memory");

  StringOp string_op;
  if (insn.meta.category == ZYDIS_CATEGORY_STRINGOP &&
      is_string_instruction(insn.mnemonic, &string_op)) {
    if (insn.address_width != 64)
      return unsupported("it is a string instruction with 32-bit addresses");
    for (unsigned i = 0; i < insn.operand_count; ++i) {
      if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.segment != ZYDIS_REGISTER_DS &&
          ops[i].mem.segment != ZYDIS_REGISTER_ES) {
        return unsupported("it is a string instruction with a segment override");
      }
    }
    plan->kind = PlanKind::String;
    plan->string_op = string_op;
    plan->element_width = static_cast<uint8_t>(insn.operand_width / 8);
    plan->has_rep = (insn.attributes &
                     (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;
    plan->repeat = !plan->has_rep                                    ? Repeat::None
                   : (insn.attributes & ZYDIS_ATTRIB_HAS_REPNE) != 0 ? Repeat::WhileNotEqual
                                                                     : Repeat::WhileEqual;
    return;
  }

  plan->xstate_mask = xstate_components(insn, ops);
  bool locked = (insn.attributes & ZYDIS_ATTRIB_HAS_LOCK) != 0;
  bool exchange = insn.mnemonic == ZYDIS_MNEMONIC_XCHG;
  plan->kind = locked || exchange ? PlanKind::Atomic : PlanKind::Generic;
  plan->division = insn.mnemonic == ZYDIS_MNEMONIC_DIV || insn.mnemonic == ZYDIS_MNEMONIC_IDIV;
  if ((insn.mnemonic == ZYDIS_MNEMONIC_BT || insn.mnemonic == ZYDIS_MNEMONIC_BTS ||
       insn.mnemonic == ZYDIS_MNEMONIC_BTR || insn.mnemonic == ZYDIS_MNEMONIC_BTC) &&
      ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
    plan->bit_offset = gpr_ref(ops[1].reg.value);
  }

  const char* why = "none of its memory operands can be redirected";
  int memory_index = 0;
  for (unsigned i = 0; i < insn.operand_count && memory_index < 2; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (op.type != ZYDIS_OPERAND_TYPE_MEMORY || op.mem.type != ZYDIS_MEMOP_TYPE_MEM) continue;
    int index = memory_index++;
    bool write_only = (op.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
                      !(op.actions & ZYDIS_OPERAND_ACTION_MASK_READ);
    if (write_only &&
        ((op.actions & ZYDIS_OPERAND_ACTION_CONDWRITE) || stores_in_its_own_way(insn.mnemonic))) {
      plan->self_store = true;
    }
    if ((op.actions & ZYDIS_OPERAND_ACTION_MASK_READ) && reads_under_a_mask(insn)) {
      plan->masked_read = true;
    }
    if (op.visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
      plan->stub[index] = reinterpret_cast<StubFunction>(
          build_stub(insn, ops, static_cast<int>(i), plan->xstate_mask, &why));
      continue;
    }
    // An implicit operand addressed by a register the instruction only reads (MOVDIR64B's
    // destination, MASKMOVDQU's [RDI]): point that register at the target instead.
    int base = gpr_number(op.mem.base);
    bool base_only_read =
        base >= 0 && base != 4 && op.mem.index == ZYDIS_REGISTER_NONE && op.mem.disp.value == 0;
    for (unsigned j = 0; j < insn.operand_count && base_only_read; ++j) {
      if (ops[j].type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_number(ops[j].reg.value) == base &&
          (ops[j].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)) {
        base_only_read = false;
      }
    }
    if (!base_only_read || insn.mnemonic == ZYDIS_MNEMONIC_XLAT) continue;  // XLAT adds AL
    plan->stub[index] =
        reinterpret_cast<StubFunction>(build_stub(insn, ops, -1, plan->xstate_mask, &why));
    if (plan->stub[index]) plan->substituted_base[index] = static_cast<int8_t>(base);
  }
  if (plan->stub[0] == nullptr && plan->stub[1] == nullptr) unsupported(why);
}

CachedInstruction* build_entry(uintptr_t pc, const uint8_t* code, size_t size) {
  auto* entry = static_cast<CachedInstruction*>(allocate_data(sizeof(CachedInstruction)));
  if (entry == nullptr) return nullptr;
  new (entry) CachedInstruction();
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (decode_with_zydis(code, size, pc, &entry->instruction, &insn, ops) != DecodeResult::Ok) {
    return nullptr;  // the entry is lost: undecodable code is not worth caching
  }
  make_plan(insn, ops, entry->instruction, &entry->plan);
  return entry;
}

bool same_code(const CachedInstruction* entry, uintptr_t pc, const uint8_t* code, size_t size) {
  const Instruction& instruction = entry->instruction;
  return instruction.pc == pc && instruction.length <= size &&
         std::memcmp(instruction.bytes, code, instruction.length) == 0;
}

}  // namespace

const CachedInstruction* cached_instruction(uintptr_t pc) {
  uint8_t code[kMaxInstructionLength];
  size_t size = read_code(pc, code);
  return cached_instruction(pc, code, size);
}

const CachedInstruction* cached_instruction(uintptr_t pc, const uint8_t* code, size_t size) {
  size_t home = slot_of(pc);
  CachedInstruction* fresh = nullptr;
  for (int round = 0; round < 2; ++round) {
    for (size_t probe = 0; probe < kProbes; ++probe) {
      std::atomic<CachedInstruction*>& slot = g_slots[(home + probe) & (kSlots - 1)];
      CachedInstruction* entry = slot.load(std::memory_order_acquire);
      if (entry != nullptr) {
        if (same_code(entry, pc, code, size)) return entry;
        continue;
      }
      if (fresh == nullptr) fresh = build_entry(pc, code, size);
      if (fresh == nullptr) return nullptr;
      if (slot.compare_exchange_strong(entry, fresh, std::memory_order_acq_rel)) return fresh;
      if (same_code(entry, pc, code, size)) return entry;  // another thread was first
    }
  }
  return nullptr;  // the neighbourhood is full
}

}  // namespace mmiotrace::x86
