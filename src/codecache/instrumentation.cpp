// mmiotrace: signal-safe
// Building the instrumented form of a memory access (see instrumentation.hpp).
#include "codecache/instrumentation.hpp"

#include <cstring>

#include "codecache/access_log.hpp"
#include "codecache/region_cache.hpp"
#include "x86/code_writer.hpp"

namespace mmiotrace::codecache {
namespace {

constexpr int32_t kRedZone = 128;

bool is_high_byte(ZydisRegister reg) {
  return reg == ZYDIS_REGISTER_AH || reg == ZYDIS_REGISTER_BH || reg == ZYDIS_REGISTER_CH ||
         reg == ZYDIS_REGISTER_DH;
}

ZydisRegister enclosing64(ZydisRegister reg) {
  return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);
}

bool is_gpr64(ZydisRegister reg) {
  return reg >= ZYDIS_REGISTER_RAX && reg <= ZYDIS_REGISTER_R15;
}

// The explicit memory operand, or -1.
int memory_operand(const ZydisDecodedInstruction& instruction,
                   const ZydisDecodedOperand* operands) {
  int found = -1;
  for (uint8_t i = 0; i < instruction.operand_count_visible; ++i) {
    if (operands[i].type != ZYDIS_OPERAND_TYPE_MEMORY) continue;
    if (found >= 0) return -1;
    found = i;
  }
  return found;
}

// Appends a rel32 branch (`opcode` bytes, then the displacement) whose target is patched later;
// returns where its displacement is.
size_t branch_placeholder(x86::CodeWriter& code, const uint8_t* opcode, size_t length) {
  code.raw(opcode, length);
  static constexpr uint8_t kZero[4] = {};
  code.raw(kZero, sizeof(kZero));
  return code.size() - 4;
}

void patch_branch(uint8_t* out, size_t displacement_at, size_t target) {
  auto rel = static_cast<int32_t>(static_cast<int64_t>(target) -
                                  static_cast<int64_t>(displacement_at + 4));
  std::memcpy(out + displacement_at, &rel, sizeof(rel));
}

// Operand helpers for requests.
void set_register(ZydisEncoderOperand& operand, ZydisRegister reg) {
  operand.type = ZYDIS_OPERAND_TYPE_REGISTER;
  operand.reg.value = reg;
}
void set_immediate(ZydisEncoderOperand& operand, int64_t value) {
  operand.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
  operand.imm.s = value;
}
// A quadword of the access log at %fs:(log + displacement [+ index]).
void set_log_memory(ZydisEncoderRequest& request, ZydisEncoderOperand& operand, intptr_t log_offset,
                    int32_t displacement, ZydisRegister index) {
  request.prefixes |= ZYDIS_ATTRIB_HAS_SEGMENT_FS;
  operand.type = ZYDIS_OPERAND_TYPE_MEMORY;
  operand.mem.base = ZYDIS_REGISTER_NONE;
  operand.mem.index = index;
  operand.mem.scale = index == ZYDIS_REGISTER_NONE ? 0 : 1;
  operand.mem.displacement = log_offset + displacement;
  operand.mem.size = 8;
}

void emit_with_immediate(x86::CodeWriter& code, ZydisMnemonic mnemonic, ZydisRegister to,
                         int64_t value) {
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  r.operand_count = 2;
  set_register(r.operands[0], to);
  set_immediate(r.operands[1], value);
  code.emit(r);
}

// lea displacement(%rsp), %rsp: moves the stack pointer without touching the flags.
void emit_move_stack(x86::CodeWriter& code, int32_t displacement) {
  ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_LEA);
  r.operand_count = 2;
  set_register(r.operands[0], ZYDIS_REGISTER_RSP);
  r.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
  r.operands[1].mem.base = ZYDIS_REGISTER_RSP;
  r.operands[1].mem.displacement = displacement;
  r.operands[1].mem.size = 8;
  code.emit(r);
}

// An instruction with a log quadword as its first operand and a register or an immediate as
// its second: mov %reg, %fs:...; mov $imm, %fs:...; cmp $imm, %fs:...; add $imm, %fs:...
void emit_log_operation(x86::CodeWriter& code, ZydisMnemonic mnemonic, intptr_t log_offset,
                        int32_t displacement, ZydisRegister index, ZydisRegister reg,
                        int64_t immediate) {
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  r.operand_count = 2;
  set_log_memory(r, r.operands[0], log_offset, displacement, index);
  if (reg != ZYDIS_REGISTER_NONE) {
    set_register(r.operands[1], reg);
  } else {
    set_immediate(r.operands[1], immediate);
  }
  code.emit(r);
}

// mov %fs:(log + displacement), %reg
void emit_log_load(x86::CodeWriter& code, ZydisRegister reg, intptr_t log_offset,
                   int32_t displacement) {
  ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_MOV);
  r.operand_count = 2;
  set_register(r.operands[0], reg);
  set_log_memory(r, r.operands[1], log_offset, displacement, ZYDIS_REGISTER_NONE);
  code.emit(r);
}

}  // namespace

bool can_divert(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands) {
  switch (instruction.mnemonic) {
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
      break;
    default:
      return false;
  }
  if (instruction.operand_count_visible != 2 || instruction.address_width != 64) return false;
  if (instruction.attributes &
      (ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS | ZYDIS_ATTRIB_HAS_LOCK)) {
    return false;
  }
  int memory = memory_operand(instruction, operands);
  if (memory < 0) return false;
  const ZydisDecodedOperand& m = operands[memory];
  if (m.mem.type != ZYDIS_MEMOP_TYPE_MEM) return false;
  if (m.size != 8 && m.size != 16 && m.size != 32 && m.size != 64) return false;
  if (m.mem.base != ZYDIS_REGISTER_NONE &&
      (!is_gpr64(m.mem.base) || m.mem.base == ZYDIS_REGISTER_RSP)) {
    return false;
  }
  if (m.mem.index != ZYDIS_REGISTER_NONE && !is_gpr64(m.mem.index)) return false;
  if (m.mem.base == ZYDIS_REGISTER_NONE && m.mem.index == ZYDIS_REGISTER_NONE) return false;
  const ZydisDecodedOperand& other = operands[1 - memory];
  if (other.type == ZYDIS_OPERAND_TYPE_REGISTER) {
    ZydisRegisterClass kind = ZydisRegisterGetClass(other.reg.value);
    if (kind != ZYDIS_REGCLASS_GPR8 && kind != ZYDIS_REGCLASS_GPR16 &&
        kind != ZYDIS_REGCLASS_GPR32 && kind != ZYDIS_REGCLASS_GPR64) {
      return false;  // a segment register
    }
    return !is_high_byte(other.reg.value);
  }
  return other.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && memory == 0;  // a store of an immediate
}

namespace {

// A quadword of thread state at %fs:(offset + displacement [+ index]).
void set_thread_memory(ZydisEncoderRequest& request, ZydisEncoderOperand& operand, intptr_t offset,
                       int32_t displacement, ZydisRegister index) {
  set_log_memory(request, operand, offset, displacement, index);
}

// op [reg + displacement], or op reg, [...]: a memory operand addressed by a register.
void set_register_memory(ZydisEncoderOperand& operand, ZydisRegister base, int32_t displacement) {
  operand.type = ZYDIS_OPERAND_TYPE_MEMORY;
  operand.mem.base = base;
  operand.mem.index = ZYDIS_REGISTER_NONE;
  operand.mem.scale = 0;
  operand.mem.displacement = displacement;
  operand.mem.size = 8;
}

// `mnemonic reg, %fs:(offset + displacement)`: sub, cmp, add, mov with a thread-state operand.
void emit_from_thread(x86::CodeWriter& code, ZydisMnemonic mnemonic, ZydisRegister reg,
                      intptr_t offset, int32_t displacement) {
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  r.operand_count = 2;
  set_register(r.operands[0], reg);
  set_thread_memory(r, r.operands[1], offset, displacement, ZYDIS_REGISTER_NONE);
  code.emit(r);
}

// `mnemonic reg, [base + displacement]`
void emit_from_memory(x86::CodeWriter& code, ZydisMnemonic mnemonic, ZydisRegister reg,
                      ZydisRegister base, int32_t displacement) {
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  r.operand_count = 2;
  set_register(r.operands[0], reg);
  set_register_memory(r.operands[1], base, displacement);
  code.emit(r);
}

// movabs $address, reg; call *reg
void emit_call(x86::CodeWriter& code, ZydisRegister reg, const void* function) {
  emit_with_immediate(code, ZYDIS_MNEMONIC_MOV, reg,
                      static_cast<int64_t>(reinterpret_cast<uintptr_t>(function)));
  ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_CALL);
  r.operand_count = 1;
  set_register(r.operands[0], reg);
  code.emit(r);
}

constexpr int32_t cache_field(size_t offset) {
  return static_cast<int32_t>(offset);
}

}  // namespace

size_t build_diverted_access(const ZydisDecodedInstruction& instruction,
                             const ZydisDecodedOperand* operands, uintptr_t original_pc,
                             const uint8_t* original_bytes, bool flags_live,
                             const ThreadStateOffsets& offsets, uint8_t* out, size_t room,
                             DivertedAccessLayout* layout) {
  const int memory = memory_operand(instruction, operands);
  const ZydisDecodedOperand& m = operands[memory];
  const ZydisDecodedOperand& other = operands[1 - memory];
  const bool write = memory == 0;
  const unsigned width = m.size / 8;
  const unsigned log2_width = static_cast<unsigned>(__builtin_ctz(width));
  if ((width & (width - 1)) != 0 || width > kMaxAccessWidth) return 0;
  const intptr_t log = offsets.log;
  const intptr_t cache = offsets.region_cache;
  for (intptr_t offset : {log, cache}) {
    if (offset < INT32_MIN || offset > INT32_MAX - static_cast<intptr_t>(sizeof(AccessLog))) {
      return 0;
    }
  }

  // Two scratch registers the instruction does not use.
  ZydisRegister used[3] = {m.mem.base, m.mem.index,
                           other.type == ZYDIS_OPERAND_TYPE_REGISTER ? enclosing64(other.reg.value)
                                                                     : ZYDIS_REGISTER_NONE};
  ZydisRegister scratch[2] = {ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE};
  size_t found = 0;
  for (int number = 0; number < 16 && found < 2; ++number) {
    auto reg = static_cast<ZydisRegister>(ZYDIS_REGISTER_RAX + number);
    if (reg == ZYDIS_REGISTER_RSP || reg == used[0] || reg == used[1] || reg == used[2]) continue;
    scratch[found++] = reg;
  }
  const ZydisRegister address = scratch[0];  // the traced address, then the alias's, then the PC
  const ZydisRegister work = scratch[1];     // the checks, then the record's offset in the log
  const RegionView& view = region_view();

  x86::CodeWriter code(out, room);
  emit_move_stack(code, -kRedZone);
  code.push(address);
  code.push(work);
  if (flags_live) code.plain(ZYDIS_MNEMONIC_PUSHFQ);
  {
    ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_LEA);
    r.operand_count = 2;
    set_register(r.operands[0], address);
    r.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
    r.operands[1].mem.base = m.mem.base;
    r.operands[1].mem.index = m.mem.index;
    r.operands[1].mem.scale = m.mem.index == ZYDIS_REGISTER_NONE ? 0 : m.mem.scale;
    r.operands[1].mem.displacement = m.mem.disp.value;
    r.operands[1].mem.size = 8;
    code.emit(r);
  }

  // The region this thread reached last, if the regions have not changed since: work = the
  // access's offset in it, checked against its limit for accesses of this width.
  const size_t check_label = code.size();
  code.move(work, address);
  emit_from_thread(code, ZYDIS_MNEMONIC_SUB, work, cache, cache_field(offsetof(RegionCache, low)));
  emit_from_thread(code, ZYDIS_MNEMONIC_CMP, work, cache,
                   cache_field(offsetof(RegionCache, limit) + log2_width * sizeof(uint64_t)));
  static constexpr uint8_t kJa[2] = {0x0f, 0x87};
  const size_t to_slow = branch_placeholder(code, kJa, sizeof(kJa));
  emit_with_immediate(code, ZYDIS_MNEMONIC_MOV, work,
                      static_cast<int64_t>(reinterpret_cast<uintptr_t>(&view.generation)));
  emit_from_memory(code, ZYDIS_MNEMONIC_MOV, work, work, 0);
  emit_from_thread(code, ZYDIS_MNEMONIC_CMP, work, cache,
                   cache_field(offsetof(RegionCache, generation)));
  static constexpr uint8_t kJne[2] = {0x0f, 0x85};
  const size_t to_stale = branch_placeholder(code, kJne, sizeof(kJne));

  // Room for its record: a full log is emptied before the access, so that the access is made
  // once, whatever happens.
  emit_log_load(code, work, log, offsetof(AccessLog, count));
  emit_with_immediate(code, ZYDIS_MNEMONIC_CMP, work, kAccessLogRecords);
  static constexpr uint8_t kJae[2] = {0x0f, 0x83};
  const size_t to_full = branch_placeholder(code, kJae, sizeof(kJae));

  // The record's address, then the access on the alias.
  emit_with_immediate(code, ZYDIS_MNEMONIC_SHL, work, 5);
  const auto record = static_cast<int32_t>(offsetof(AccessLog, records));
  emit_log_operation(code, ZYDIS_MNEMONIC_MOV, log, record + offsetof(AccessRecord, address), work,
                     address, 0);
  emit_from_thread(code, ZYDIS_MNEMONIC_ADD, address, cache,
                   cache_field(offsetof(RegionCache, delta)));
  {
    ZydisEncoderRequest r;
    if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
            &instruction, operands, instruction.operand_count_visible, &r))) {
      return 0;
    }
    ZydisEncoderOperand& redirected = r.operands[memory];
    redirected.mem.base = address;
    redirected.mem.index = ZYDIS_REGISTER_NONE;
    redirected.mem.scale = 0;
    redirected.mem.displacement = 0;
    r.prefixes &= ~(ZYDIS_ATTRIB_HAS_SEGMENT_CS | ZYDIS_ATTRIB_HAS_SEGMENT_SS |
                    ZYDIS_ATTRIB_HAS_SEGMENT_DS | ZYDIS_ATTRIB_HAS_SEGMENT_ES);
    code.emit(r);
  }

  // The rest of the record: value, original PC, width and direction; then it is counted.
  if (other.type == ZYDIS_OPERAND_TYPE_REGISTER) {
    emit_log_operation(code, ZYDIS_MNEMONIC_MOV, log, record + offsetof(AccessRecord, value), work,
                       enclosing64(other.reg.value), 0);
  } else {
    emit_log_operation(code, ZYDIS_MNEMONIC_MOV, log, record + offsetof(AccessRecord, value), work,
                       ZYDIS_REGISTER_NONE, other.imm.value.s);
  }
  emit_with_immediate(code, ZYDIS_MNEMONIC_MOV, address, static_cast<int64_t>(original_pc));
  emit_log_operation(code, ZYDIS_MNEMONIC_MOV, log, record + offsetof(AccessRecord, pc), work,
                     address, 0);
  emit_log_operation(code, ZYDIS_MNEMONIC_MOV, log, record + offsetof(AccessRecord, info), work,
                     ZYDIS_REGISTER_NONE, width | (write ? kAccessWrite : 0));
  emit_log_operation(code, ZYDIS_MNEMONIC_ADD, log, offsetof(AccessLog, count), ZYDIS_REGISTER_NONE,
                     ZYDIS_REGISTER_NONE, 1);
  const size_t counted_label = code.size();
  if (flags_live) code.plain(ZYDIS_MNEMONIC_POPFQ);
  code.pop(work);
  code.pop(address);
  emit_move_stack(code, kRedZone);
  static constexpr uint8_t kJmp[1] = {0xe9};
  const size_t to_done = branch_placeholder(code, kJmp, sizeof(kJmp));

  // A full log: emptied, then everything is checked again (a signal handler may have run).
  const size_t full_label = code.size();
  emit_call(code, work, reinterpret_cast<const void*>(&mmiotrace_access_log_flush_thunk));
  const size_t to_check_after_flush = branch_placeholder(code, kJmp, sizeof(kJmp));

  // The cache cannot tell: outside every region (the filter), or in the untraced stretch found
  // last, is a miss; otherwise the engine is asked, and a hit is checked again.
  const size_t slow_label = code.size();
  emit_with_immediate(code, ZYDIS_MNEMONIC_MOV, work,
                      static_cast<int64_t>(reinterpret_cast<uintptr_t>(&view.filter_low)));
  emit_from_memory(code, ZYDIS_MNEMONIC_CMP, address, work, 0);
  static constexpr uint8_t kJb[2] = {0x0f, 0x82};
  const size_t to_miss_below = branch_placeholder(code, kJb, sizeof(kJb));
  emit_from_memory(
      code, ZYDIS_MNEMONIC_CMP, address, work,
      static_cast<int32_t>(offsetof(RegionView, filter_high) - offsetof(RegionView, filter_low)));
  const size_t to_miss_above = branch_placeholder(code, kJae, sizeof(kJae));
  emit_from_thread(code, ZYDIS_MNEMONIC_CMP, address, cache,
                   cache_field(offsetof(RegionCache, gap_low)));
  const size_t to_ask_below = branch_placeholder(code, kJb, sizeof(kJb));
  emit_from_thread(code, ZYDIS_MNEMONIC_CMP, address, cache,
                   cache_field(offsetof(RegionCache, gap_high)));
  const size_t to_ask_above = branch_placeholder(code, kJae, sizeof(kJae));
  emit_from_memory(
      code, ZYDIS_MNEMONIC_MOV, work, work,
      static_cast<int32_t>(offsetof(RegionView, generation) - offsetof(RegionView, filter_low)));
  emit_from_thread(code, ZYDIS_MNEMONIC_CMP, work, cache,
                   cache_field(offsetof(RegionCache, gap_generation)));
  static constexpr uint8_t kJe[2] = {0x0f, 0x84};
  const size_t to_miss_in_gap = branch_placeholder(code, kJe, sizeof(kJe));
  const size_t ask_label = code.size();
  {
    ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_MOV);
    r.operand_count = 2;
    set_thread_memory(r, r.operands[0], cache, cache_field(offsetof(RegionCache, query_address)),
                      ZYDIS_REGISTER_NONE);
    set_register(r.operands[1], address);
    code.emit(r);
  }
  {
    ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_MOV);
    r.operand_count = 2;
    set_thread_memory(r, r.operands[0], cache, cache_field(offsetof(RegionCache, query_width)),
                      ZYDIS_REGISTER_NONE);
    set_immediate(r.operands[1], width);
    code.emit(r);
  }
  emit_call(code, work, reinterpret_cast<const void*>(&mmiotrace_region_lookup_thunk));
  {
    ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_CMP);
    r.operand_count = 2;
    set_thread_memory(r, r.operands[0], cache, cache_field(offsetof(RegionCache, query_hit)),
                      ZYDIS_REGISTER_NONE);
    set_immediate(r.operands[1], 0);
    code.emit(r);
  }
  const size_t to_check_after_lookup = branch_placeholder(code, kJne, sizeof(kJne));

  // A miss: the instruction as it is (it has no RIP-relative operand: it moves unchanged).
  const size_t miss_label = code.size();
  if (flags_live) code.plain(ZYDIS_MNEMONIC_POPFQ);
  code.pop(work);
  code.pop(address);
  emit_move_stack(code, kRedZone);
  code.raw(original_bytes, instruction.length);
  const size_t done_label = code.size();
  if (!code.ok()) return 0;
  patch_branch(out, to_slow, slow_label);
  patch_branch(out, to_stale, slow_label);
  patch_branch(out, to_full, full_label);
  patch_branch(out, to_done, done_label);
  patch_branch(out, to_check_after_flush, check_label);
  patch_branch(out, to_miss_below, miss_label);
  patch_branch(out, to_miss_above, miss_label);
  patch_branch(out, to_ask_below, ask_label);
  patch_branch(out, to_ask_above, ask_label);
  patch_branch(out, to_miss_in_gap, miss_label);
  patch_branch(out, to_check_after_lookup, check_label);
  if (layout != nullptr) {
    layout->critical_begin = static_cast<uint16_t>(check_label);
    layout->critical_end = static_cast<uint16_t>(counted_label);
  }
  return code.size();
}

size_t build_exit_flush(intptr_t log_offset, uint8_t* out, size_t room) {
  x86::CodeWriter code(out, room);
  emit_move_stack(code, -kRedZone);
  code.plain(ZYDIS_MNEMONIC_PUSHFQ);
  emit_log_operation(code, ZYDIS_MNEMONIC_CMP, log_offset, offsetof(AccessLog, count),
                     ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE, 0);
  static constexpr uint8_t kJe[2] = {0x0f, 0x84};
  size_t to_skip = branch_placeholder(code, kJe, sizeof(kJe));
  code.push(ZYDIS_REGISTER_RAX);
  emit_with_immediate(
      code, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX,
      static_cast<int64_t>(reinterpret_cast<uintptr_t>(&mmiotrace_access_log_flush_thunk)));
  {
    ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_CALL);
    r.operand_count = 1;
    set_register(r.operands[0], ZYDIS_REGISTER_RAX);
    code.emit(r);
  }
  code.pop(ZYDIS_REGISTER_RAX);
  const size_t skip_label = code.size();
  code.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_move_stack(code, kRedZone);
  if (!code.ok()) return 0;
  patch_branch(out, to_skip, skip_label);
  return code.size();
}

}  // namespace mmiotrace::codecache
