// mmiotrace: signal-safe
// Decoding with Zydis into x86::Instruction, and reading operands from a signal context (see
// decoder.hpp).
#include "x86/decoder.hpp"

#include <Zydis/Zydis.h>

#include <cstring>

#include "core/address_range.hpp"
#include "core/syscall.hpp"
#include "x86/decoder.hpp"
#include "x86/decoder_internal.hpp"

namespace mmiotrace::x86 {
namespace {

int greg_of(ZydisRegister reg64) {
  switch (reg64) {
    case ZYDIS_REGISTER_RAX:
      return REG_RAX;
    case ZYDIS_REGISTER_RCX:
      return REG_RCX;
    case ZYDIS_REGISTER_RDX:
      return REG_RDX;
    case ZYDIS_REGISTER_RBX:
      return REG_RBX;
    case ZYDIS_REGISTER_RSP:
      return REG_RSP;
    case ZYDIS_REGISTER_RBP:
      return REG_RBP;
    case ZYDIS_REGISTER_RSI:
      return REG_RSI;
    case ZYDIS_REGISTER_RDI:
      return REG_RDI;
    case ZYDIS_REGISTER_R8:
      return REG_R8;
    case ZYDIS_REGISTER_R9:
      return REG_R9;
    case ZYDIS_REGISTER_R10:
      return REG_R10;
    case ZYDIS_REGISTER_R11:
      return REG_R11;
    case ZYDIS_REGISTER_R12:
      return REG_R12;
    case ZYDIS_REGISTER_R13:
      return REG_R13;
    case ZYDIS_REGISTER_R14:
      return REG_R14;
    case ZYDIS_REGISTER_R15:
      return REG_R15;
    default:
      return -1;
  }
}

}  // namespace

bool is_gpr(ZydisRegister reg) {
  switch (ZydisRegisterGetClass(reg)) {
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
      return true;
    default:
      return false;
  }
}

GprRef gpr_ref(ZydisRegister reg) {
  GprRef ref;
  if (!is_gpr(reg)) return ref;
  ref.greg = static_cast<int8_t>(
      greg_of(ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg)));
  ref.size = static_cast<uint8_t>(ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg) / 8);
  if (reg == ZYDIS_REGISTER_AH || reg == ZYDIS_REGISTER_CH || reg == ZYDIS_REGISTER_DH ||
      reg == ZYDIS_REGISTER_BH) {
    ref.shift = 8;
  }
  return ref;
}

namespace {

AccessKind kind_of(ZydisOperandActions actions) {
  int kind = 0;
  if (actions & ZYDIS_OPERAND_ACTION_MASK_READ) kind |= 1;
  if (actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) kind |= 2;
  return static_cast<AccessKind>(kind);
}

bool is_memory(const ZydisDecodedOperand& operand) {
  return operand.type == ZYDIS_OPERAND_TYPE_MEMORY && operand.mem.type == ZYDIS_MEMOP_TYPE_MEM;
}
bool is_register(const ZydisDecodedOperand& operand) {
  return operand.type == ZYDIS_OPERAND_TYPE_REGISTER && is_gpr(operand.reg.value);
}

void set_value_register(Instruction* out, const ZydisDecodedOperand& operand, bool byte_swapped) {
  out->value_rule = ValueRule::FromRegister;
  out->value_register = gpr_ref(operand.reg.value);
  out->value_byte_swapped = byte_swapped;
}

// The MOV family, whose value can be read from registers (what pf_in.c decodes, and more).
void classify_value(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* ops,
                    Instruction* out) {
  // String instructions name their operands implicitly, so count all of them.
  if (out->memory_operand_count != 1 || insn.operand_count < 2) return;
  const ZydisDecodedOperand& first = ops[0];
  const ZydisDecodedOperand& second = ops[1];
  switch (insn.mnemonic) {
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVNTI:
    case ZYDIS_MNEMONIC_MOVBE: {
      bool swapped = insn.mnemonic == ZYDIS_MNEMONIC_MOVBE;
      if (is_memory(first) && is_register(second)) {
        set_value_register(out, second, swapped);
      } else if (is_register(first) && is_memory(second)) {
        set_value_register(out, first, swapped);
      } else if (is_memory(first) && second.type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        out->value_rule = ValueRule::FromImmediate;
        out->immediate = second.imm.value.u;
      }
      break;
    }
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
    case ZYDIS_MNEMONIC_LODSB:
    case ZYDIS_MNEMONIC_LODSW:
    case ZYDIS_MNEMONIC_LODSD:
    case ZYDIS_MNEMONIC_LODSQ:
      if (is_register(first) && is_memory(second)) set_value_register(out, first, false);
      break;
    case ZYDIS_MNEMONIC_STOSB:
    case ZYDIS_MNEMONIC_STOSW:
    case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ:
      if (is_memory(first) && is_register(second)) set_value_register(out, second, false);
      break;
    default:
      break;
  }
}

uint64_t segment_base(Segment segment) {
  constexpr int kArchGetFs = 0x1003;
  constexpr int kArchGetGs = 0x1004;
  uint64_t base = 0;
  if (segment == Segment::Fs) sys::arch_prctl_get(kArchGetFs, &base);
  if (segment == Segment::Gs) sys::arch_prctl_get(kArchGetGs, &base);
  return base;
}

}  // namespace

DecodeResult decode(const uint8_t* bytes, size_t size, uintptr_t pc, Instruction* out) {
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  return decode_with_zydis(bytes, size, pc, out, &insn, ops);
}

DecodeResult decode_with_zydis(const uint8_t* bytes, size_t size, uintptr_t pc, Instruction* out,
                               ZydisDecodedInstruction* zydis_instruction,
                               ZydisDecodedOperand* zydis_operands) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisDecodedInstruction& insn = *zydis_instruction;
  ZydisDecodedOperand* ops = zydis_operands;
  ZyanStatus status = ZydisDecoderDecodeFull(&decoder, bytes, size, &insn, ops);
  *out = Instruction{};
  out->pc = pc;
  if (!ZYAN_SUCCESS(status)) {
    out->length = static_cast<uint8_t>(size < kMaxInstructionLength ? size : kMaxInstructionLength);
    std::memcpy(out->bytes, bytes, out->length);
    return status == ZYDIS_STATUS_NO_MORE_DATA ? DecodeResult::Unreadable : DecodeResult::Invalid;
  }
  out->length = insn.length;
  std::memcpy(out->bytes, bytes, insn.length);
  out->mnemonic = static_cast<uint16_t>(insn.mnemonic);
  out->repeated = (insn.attributes &
                   (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;

  for (unsigned i = 0; i < insn.operand_count && out->memory_operand_count < 2; ++i) {
    const ZydisDecodedOperand& op = ops[i];
    if (!is_memory(op)) continue;
    MemoryOperand& memory = out->memory[out->memory_operand_count++];
    memory.kind = kind_of(op.actions);
    memory.width = static_cast<uint16_t>(op.size / 8);
    memory.hidden = op.visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT;
    AddressExpression& address = memory.address;
    address.rip_relative = op.mem.base == ZYDIS_REGISTER_RIP;
    if (!address.rip_relative) address.base = gpr_ref(op.mem.base);
    address.index = gpr_ref(op.mem.index);
    address.scale = op.mem.scale;
    address.displacement = op.mem.disp.has_displacement ? op.mem.disp.value : 0;
    address.address_size = static_cast<uint8_t>(insn.address_width / 8);
    if (op.mem.segment == ZYDIS_REGISTER_FS) address.segment = Segment::Fs;
    if (op.mem.segment == ZYDIS_REGISTER_GS) address.segment = Segment::Gs;
  }
  classify_value(insn, ops, out);
  return DecodeResult::Ok;
}

size_t read_code(uintptr_t pc, uint8_t* code) {
  size_t in_page = page_floor(pc) + kPageSize - pc;
  if (in_page >= kMaxInstructionLength) {
    std::memcpy(code, reinterpret_cast<const void*>(pc), kMaxInstructionLength);
    return kMaxInstructionLength;
  }
  // The bytes run into the next page, which may not be mapped: read that part without faulting.
  std::memcpy(code, reinterpret_cast<const void*>(pc), in_page);
  long read = sys::process_vm_readv_self(code, pc, kMaxInstructionLength);
  return read > static_cast<long>(in_page) ? static_cast<size_t>(read) : in_page;
}

DecodeResult decode_at(uintptr_t pc, Instruction* out) {
  uint8_t code[kMaxInstructionLength];
  return decode(code, read_code(pc, code), pc, out);
}

uint64_t read_gpr(const ucontext_t& context, GprRef reg) {
  if (!reg.valid()) return 0;
  uint64_t value = static_cast<uint64_t>(context.uc_mcontext.gregs[reg.greg]) >> reg.shift;
  return reg.size >= 8 ? value : value & ((uint64_t{1} << (reg.size * 8)) - 1);
}

uintptr_t effective_address(const Instruction& instruction, const MemoryOperand& operand,
                            const ucontext_t& context) {
  const AddressExpression& a = operand.address;
  uint64_t address = static_cast<uint64_t>(a.displacement);
  if (a.rip_relative) address += instruction.pc + instruction.length;
  address += read_gpr(context, a.base);
  address += read_gpr(context, a.index) * a.scale;
  if (a.address_size == 4) address &= 0xffffffffu;
  address += segment_base(a.segment);
  return static_cast<uintptr_t>(address);
}

bool value_from_registers(const Instruction& instruction, const ucontext_t& context,
                          uint8_t* value_out) {
  if (instruction.value_rule == ValueRule::Unknown || instruction.memory_operand_count != 1) {
    return false;
  }
  uint64_t value = instruction.value_rule == ValueRule::FromImmediate
                       ? instruction.immediate
                       : read_gpr(context, {instruction.value_register.greg,
                                            instruction.value_register.shift, 8});
  unsigned width = instruction.memory[0].width;
  if (width > 8) return false;
  for (unsigned i = 0; i < width; ++i) {
    unsigned byte = instruction.value_byte_swapped ? width - 1 - i : i;
    value_out[i] = static_cast<uint8_t>(value >> (8 * byte));
  }
  return true;
}

}  // namespace mmiotrace::x86
