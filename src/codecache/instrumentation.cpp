// mmiotrace: signal-safe
// Building the instrumented form of a memory access (see instrumentation.hpp).
#include "codecache/instrumentation.hpp"

#include <cstring>
#include <utility>

#include "codecache/access_log.hpp"
#include "codecache/region_cache.hpp"
#include "x86/code_writer.hpp"
#include "x86/guarded_access.hpp"

namespace mmiotrace::codecache {
namespace {

constexpr int32_t kRedZone = 128;
constexpr int kGprs = 16;

// --- What an instruction is to the instrumentation -------------------------------------------

bool is_gpr64(ZydisRegister reg) {
  return reg >= ZYDIS_REGISTER_RAX && reg <= ZYDIS_REGISTER_R15;
}

ZydisRegister enclosing64(ZydisRegister reg) {
  return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);
}

// The number (RAX 0 ... R15 15) of the 64-bit register enclosing `reg`, or -1 when `reg` is not
// a general-purpose register.
int gpr_number(ZydisRegister reg) {
  ZydisRegister wide = enclosing64(reg);
  return is_gpr64(wide) ? wide - ZYDIS_REGISTER_RAX : -1;
}

// The number (0 to 31) of the vector register `reg` is part of, or -1.
int vector_number(ZydisRegister reg) {
  if (reg >= ZYDIS_REGISTER_XMM0 && reg <= ZYDIS_REGISTER_XMM31) return reg - ZYDIS_REGISTER_XMM0;
  if (reg >= ZYDIS_REGISTER_YMM0 && reg <= ZYDIS_REGISTER_YMM31) return reg - ZYDIS_REGISTER_YMM0;
  if (reg >= ZYDIS_REGISTER_ZMM0 && reg <= ZYDIS_REGISTER_ZMM31) return reg - ZYDIS_REGISTER_ZMM0;
  return -1;
}

bool is_high_byte(ZydisRegister reg) {
  return reg == ZYDIS_REGISTER_AH || reg == ZYDIS_REGISTER_BH || reg == ZYDIS_REGISTER_CH ||
         reg == ZYDIS_REGISTER_DH;
}

// How an instruction's access is made in translated code.
enum class Form : uint8_t {
  None,    // not instrumented: copied as it is (it faults on traced memory and is emulated)
  Direct,  // MOV family: the instruction itself on the alias, its value in a register
  Bounce,  // the operand read once from the alias into a bounce buffer, the instruction run on
           // the buffer, and what it wrote stored back once
  String,  // REP STOS and REP MOVS, element by element while they touch traced memory
};

struct Analysis {
  Form form = Form::None;
  bool moves = false;            // String: REP MOVS (else REP STOS)
  int memory = -1;               // the memory operand
  unsigned width = 0;            // its bytes: 1, 2, 4, 8, 16, 32 or 64
  bool reads = false;            // the instruction reads it
  bool writes = false;           // ... and writes it
  bool aligned = false;          // the instruction needs it aligned to its width
  bool undefined_flags = false;  // it leaves some flags undefined (which may mean unchanged)
  uint32_t gprs = 0;             // the general-purpose registers it uses, by number
  uint32_t vectors = 0;          // the vector registers it uses, by number
};

// The mnemonics the emulator makes a second store for (non-temporal, masked, direct stores: the
// kind of store matters to a device) and those whose access is not one plain read or write of
// the operand: they are left to the emulator.
bool left_to_the_emulator(ZydisMnemonic mnemonic) {
  switch (mnemonic) {
    case ZYDIS_MNEMONIC_MOVNTI:
    case ZYDIS_MNEMONIC_MOVNTDQ:
    case ZYDIS_MNEMONIC_MOVNTDQA:
    case ZYDIS_MNEMONIC_MOVNTPD:
    case ZYDIS_MNEMONIC_MOVNTPS:
    case ZYDIS_MNEMONIC_MOVNTQ:
    case ZYDIS_MNEMONIC_MOVNTSD:
    case ZYDIS_MNEMONIC_MOVNTSS:
    case ZYDIS_MNEMONIC_VMOVNTDQ:
    case ZYDIS_MNEMONIC_VMOVNTDQA:
    case ZYDIS_MNEMONIC_VMOVNTPD:
    case ZYDIS_MNEMONIC_VMOVNTPS:
    case ZYDIS_MNEMONIC_MASKMOVDQU:
    case ZYDIS_MNEMONIC_MASKMOVQ:
    case ZYDIS_MNEMONIC_VMASKMOVDQU:
    case ZYDIS_MNEMONIC_VMASKMOVPD:
    case ZYDIS_MNEMONIC_VMASKMOVPS:
    case ZYDIS_MNEMONIC_VPMASKMOVD:
    case ZYDIS_MNEMONIC_VPMASKMOVQ:
    case ZYDIS_MNEMONIC_MOVDIRI:
    case ZYDIS_MNEMONIC_MOVDIR64B:
    case ZYDIS_MNEMONIC_XCHG:  // locked whether or not it says so
    case ZYDIS_MNEMONIC_CMPXCHG:
    case ZYDIS_MNEMONIC_CMPXCHG8B:
    case ZYDIS_MNEMONIC_CMPXCHG16B:
    case ZYDIS_MNEMONIC_XADD:
    case ZYDIS_MNEMONIC_DIV:  // divide errors are raised at the instruction
    case ZYDIS_MNEMONIC_IDIV:
    case ZYDIS_MNEMONIC_BT:  // a register bit offset reaches beyond the operand
    case ZYDIS_MNEMONIC_BTC:
    case ZYDIS_MNEMONIC_BTR:
    case ZYDIS_MNEMONIC_BTS:
    case ZYDIS_MNEMONIC_CLFLUSH:
    case ZYDIS_MNEMONIC_CLFLUSHOPT:
    case ZYDIS_MNEMONIC_CLWB:
    case ZYDIS_MNEMONIC_LEA:
    case ZYDIS_MNEMONIC_NOP:
      return true;
    default:
      return false;
  }
}

// Legacy SSE instructions with a 16-byte memory operand fault unless it is aligned, but these;
// VEX and EVEX ones only when they say so.
bool needs_alignment(const ZydisDecodedInstruction& instruction, unsigned width) {
  switch (instruction.mnemonic) {
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVAPD:
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_VMOVAPS:
    case ZYDIS_MNEMONIC_VMOVAPD:
    case ZYDIS_MNEMONIC_VMOVDQA:
    case ZYDIS_MNEMONIC_VMOVDQA32:
    case ZYDIS_MNEMONIC_VMOVDQA64:
      return true;
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_LDDQU:
      return false;
    default:
      break;
  }
  const bool legacy_sse = instruction.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY &&
                          (instruction.meta.isa_set == ZYDIS_ISA_SET_SSE ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_SSE2 ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_SSE3 ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_SSSE3 ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_SSE4 ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_SSE42 ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_AES ||
                           instruction.meta.isa_set == ZYDIS_ISA_SET_PCLMULQDQ);
  return legacy_sse && width == 16;
}

bool is_mov_family(const ZydisDecodedInstruction& instruction) {
  switch (instruction.mnemonic) {
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
      return true;
    default:
      return false;
  }
}

// REP STOS and REP MOVS of 1, 2, 4 or 8-byte elements, with 64-bit addresses and no segment
// override: element by element in translated code.
Analysis analyze_string(const ZydisDecodedInstruction& instruction,
                        const ZydisDecodedOperand* operands) {
  Analysis a;
  switch (instruction.mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB:
    case ZYDIS_MNEMONIC_MOVSW:
    case ZYDIS_MNEMONIC_MOVSD:
    case ZYDIS_MNEMONIC_MOVSQ:
      a.moves = true;
      break;
    case ZYDIS_MNEMONIC_STOSB:
    case ZYDIS_MNEMONIC_STOSW:
    case ZYDIS_MNEMONIC_STOSD:
    case ZYDIS_MNEMONIC_STOSQ:
      break;
    default:
      return a;
  }
  if (instruction.meta.category != ZYDIS_CATEGORY_STRINGOP ||
      !(instruction.attributes & ZYDIS_ATTRIB_HAS_REP) || instruction.address_width != 64 ||
      (instruction.attributes &
       (ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS | ZYDIS_ATTRIB_HAS_LOCK)) ||
      operands[0].type != ZYDIS_OPERAND_TYPE_MEMORY) {
    return a;
  }
  a.width = operands[0].size / 8;
  if (a.width != 1 && a.width != 2 && a.width != 4 && a.width != 8) return a;
  a.memory = 0;
  a.writes = true;
  a.reads = a.moves;
  // RSI, RDI, RCX and RAX are its own.
  for (ZydisRegister reg :
       {ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RAX}) {
    a.gprs |= 1u << (reg - ZYDIS_REGISTER_RAX);
  }
  a.form = Form::String;
  return a;
}

Analysis analyze(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands) {
  Analysis none;
  Analysis a;
  if (instruction.meta.category == ZYDIS_CATEGORY_STRINGOP) {
    return analyze_string(instruction, operands);
  }
  if (instruction.address_width != 64 || instruction.machine_mode != ZYDIS_MACHINE_MODE_LONG_64) {
    return none;
  }
  if (instruction.attributes &
      (ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS | ZYDIS_ATTRIB_HAS_LOCK |
       ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) {
    return none;
  }
  switch (instruction.meta.category) {
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_PUSH:
    case ZYDIS_CATEGORY_POP:
    case ZYDIS_CATEGORY_STRINGOP:
    case ZYDIS_CATEGORY_SYSTEM:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_INTERRUPT:
    case ZYDIS_CATEGORY_SEMAPHORE:
    case ZYDIS_CATEGORY_PREFETCH:
    case ZYDIS_CATEGORY_X87_ALU:
    case ZYDIS_CATEGORY_SGX:
    case ZYDIS_CATEGORY_VTX:
    case ZYDIS_CATEGORY_IOSTRINGOP:
    case ZYDIS_CATEGORY_AVX2GATHER:
    case ZYDIS_CATEGORY_PREFETCHWT1:
    case ZYDIS_CATEGORY_XSAVE:
    case ZYDIS_CATEGORY_XSAVEOPT:
    case ZYDIS_CATEGORY_GATHER:
    case ZYDIS_CATEGORY_SCATTER:
    case ZYDIS_CATEGORY_AMX_TILE:
      return none;
    default:
      break;
  }
  if (left_to_the_emulator(instruction.mnemonic)) return none;
  // One memory operand, explicit, addressed by 64-bit registers other than RSP and RIP.
  for (uint8_t i = 0; i < instruction.operand_count; ++i) {
    const ZydisDecodedOperand& operand = operands[i];
    if (operand.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      if (a.memory >= 0 || operand.visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT) return none;
      a.memory = i;
    }
  }
  if (a.memory < 0) return none;
  const ZydisDecodedOperand& m = operands[a.memory];
  if (m.mem.type != ZYDIS_MEMOP_TYPE_MEM) return none;
  if (m.mem.base == ZYDIS_REGISTER_NONE && m.mem.index == ZYDIS_REGISTER_NONE) return none;
  if (m.mem.base != ZYDIS_REGISTER_NONE &&
      (!is_gpr64(m.mem.base) || m.mem.base == ZYDIS_REGISTER_RSP)) {
    return none;
  }
  if (m.mem.index != ZYDIS_REGISTER_NONE && !is_gpr64(m.mem.index)) return none;
  if (m.actions & (ZYDIS_OPERAND_ACTION_CONDREAD | ZYDIS_OPERAND_ACTION_CONDWRITE)) return none;
  a.width = m.size / 8;
  if (a.width == 0 || (a.width & (a.width - 1)) != 0 || a.width > kMaxAccessWidth ||
      m.size % 8 != 0) {
    return none;
  }
  if (a.width == 64 && !x86::has_avx512()) return none;
  a.reads = (m.actions & ZYDIS_OPERAND_ACTION_READ) != 0;
  a.writes = (m.actions & ZYDIS_OPERAND_ACTION_WRITE) != 0;
  if (!a.reads && !a.writes) return none;
  // The registers it uses; RSP and RIP not at all (the sequence moves RSP; RIP moves with it),
  // the high byte registers not as operands (they have no 64-bit form to save).
  for (uint8_t i = 0; i < instruction.operand_count; ++i) {
    const ZydisDecodedOperand& operand = operands[i];
    ZydisRegister regs[3] = {ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE, ZYDIS_REGISTER_NONE};
    if (operand.type == ZYDIS_OPERAND_TYPE_REGISTER) {
      regs[0] = operand.reg.value;
      if (is_high_byte(operand.reg.value)) return none;
    } else if (operand.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      regs[0] = operand.mem.base;
      regs[1] = operand.mem.index;
    }
    for (ZydisRegister reg : regs) {
      if (reg == ZYDIS_REGISTER_NONE || reg == ZYDIS_REGISTER_RFLAGS ||
          reg == ZYDIS_REGISTER_EFLAGS || reg == ZYDIS_REGISTER_FLAGS ||
          reg == ZYDIS_REGISTER_MXCSR) {
        continue;
      }
      if (enclosing64(reg) == ZYDIS_REGISTER_RSP || enclosing64(reg) == ZYDIS_REGISTER_RIP) {
        return none;
      }
      if (int number = gpr_number(reg); number >= 0) {
        a.gprs |= 1u << number;
      } else if (int vector = vector_number(reg); vector >= 0) {
        a.vectors |= 1u << vector;
      } else if (ZydisRegisterGetClass(reg) == ZYDIS_REGCLASS_SEGMENT) {
        return none;
      }
    }
  }
  a.aligned = needs_alignment(instruction, a.width);
  a.undefined_flags = instruction.cpu_flags != nullptr && instruction.cpu_flags->undefined != 0;
  // The MOV family between a general-purpose register or an immediate and memory is made in
  // place; everything else through the bounce buffer.
  const ZydisDecodedOperand& other = operands[a.memory == 0 ? 1 : 0];
  const bool direct =
      is_mov_family(instruction) && instruction.operand_count_visible == 2 && a.width <= 8 &&
      ((other.type == ZYDIS_OPERAND_TYPE_REGISTER && gpr_number(other.reg.value) >= 0) ||
       (other.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && a.memory == 0));
  a.form = direct ? Form::Direct : Form::Bounce;
  return a;
}

// --- Encoding helpers ------------------------------------------------------------------------

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

constexpr uint8_t kJa[2] = {0x0f, 0x87};
constexpr uint8_t kJae[2] = {0x0f, 0x83};
constexpr uint8_t kJb[2] = {0x0f, 0x82};
constexpr uint8_t kJe[2] = {0x0f, 0x84};
constexpr uint8_t kJne[2] = {0x0f, 0x85};
constexpr uint8_t kJmp[1] = {0xe9};

// Branches waiting for their target (no allocation: this runs in signal handlers).
struct Branches {
  size_t at[8] = {};
  size_t count = 0;
  bool overflowed = false;
  void push_back(size_t displacement_at) {
    if (count == sizeof(at) / sizeof(at[0])) {
      overflowed = true;  // (never: a sequence has at most three of a kind)
      return;
    }
    at[count++] = displacement_at;
  }
  const size_t* begin() const { return at; }
  const size_t* end() const { return at + count; }
};

void set_register(ZydisEncoderOperand& operand, ZydisRegister reg) {
  operand.type = ZYDIS_OPERAND_TYPE_REGISTER;
  operand.reg.value = reg;
}
void set_immediate(ZydisEncoderOperand& operand, int64_t value) {
  operand.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
  operand.imm.s = value;
}

// Thread state at %fs:(offset + displacement [+ index]), `size` bytes.
void set_thread_memory(ZydisEncoderRequest& request, ZydisEncoderOperand& operand, intptr_t offset,
                       int32_t displacement, ZydisRegister index, uint16_t size = 8) {
  request.prefixes |= ZYDIS_ATTRIB_HAS_SEGMENT_FS;
  operand.type = ZYDIS_OPERAND_TYPE_MEMORY;
  operand.mem.base = ZYDIS_REGISTER_NONE;
  operand.mem.index = index;
  operand.mem.scale = index == ZYDIS_REGISTER_NONE ? 0 : 1;
  operand.mem.displacement = offset + displacement;
  operand.mem.size = size;
}

// [base + displacement], `size` bytes.
void set_register_memory(ZydisEncoderOperand& operand, ZydisRegister base, int32_t displacement,
                         uint16_t size = 8) {
  operand.type = ZYDIS_OPERAND_TYPE_MEMORY;
  operand.mem.base = base;
  operand.mem.index = ZYDIS_REGISTER_NONE;
  operand.mem.scale = 0;
  operand.mem.displacement = displacement;
  operand.mem.size = size;
}

// A place in memory for the emitters below: thread state (%fs-relative, maybe indexed by a
// register) or [base].
struct Place {
  bool thread = false;
  intptr_t offset = 0;  // thread: the TLS offset of the structure
  int32_t displacement = 0;
  ZydisRegister reg = ZYDIS_REGISTER_NONE;  // thread: the index; otherwise the base
};
Place in_thread(intptr_t offset, size_t displacement, ZydisRegister index = ZYDIS_REGISTER_NONE) {
  return {true, offset, static_cast<int32_t>(displacement), index};
}
Place at_register(ZydisRegister base) {
  return {false, 0, 0, base};
}

void set_place(ZydisEncoderRequest& request, ZydisEncoderOperand& operand, const Place& place,
               uint16_t size) {
  if (place.thread) {
    set_thread_memory(request, operand, place.offset, place.displacement, place.reg, size);
  } else {
    set_register_memory(operand, place.reg, place.displacement, size);
  }
}

// `mnemonic reg, [place]`
void emit_from(x86::CodeWriter& code, ZydisMnemonic mnemonic, ZydisRegister reg, const Place& place,
               uint16_t size = 8) {
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  r.operand_count = 2;
  set_register(r.operands[0], reg);
  set_place(r, r.operands[1], place, size);
  code.emit(r);
}

// `mnemonic [place], reg` (reg NONE: `mnemonic [place], $immediate`)
void emit_to(x86::CodeWriter& code, ZydisMnemonic mnemonic, const Place& place, ZydisRegister reg,
             int64_t immediate = 0, uint16_t size = 8) {
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  r.operand_count = 2;
  set_place(r, r.operands[0], place, size);
  if (reg != ZYDIS_REGISTER_NONE) {
    set_register(r.operands[1], reg);
  } else {
    set_immediate(r.operands[1], immediate);
  }
  code.emit(r);
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
  set_register_memory(r.operands[1], ZYDIS_REGISTER_RSP, displacement);
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

// The register of `width` bytes (1 to 8) of general-purpose register `reg64`.
ZydisRegister sized(ZydisRegister reg64, unsigned width) {
  const int number = reg64 - ZYDIS_REGISTER_RAX;
  switch (width) {
    case 1:
      return number < 4 ? static_cast<ZydisRegister>(ZYDIS_REGISTER_AL + number)
                        : static_cast<ZydisRegister>(ZYDIS_REGISTER_SPL + number - 4);
    case 2:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_AX + number);
    case 4:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_EAX + number);
    default:
      return reg64;
  }
}

// Loads `width` bytes (1 to 8) at `place` into `reg64`, zero-extended: one access.
void emit_load_zero_extended(x86::CodeWriter& code, ZydisRegister reg64, const Place& place,
                             unsigned width) {
  if (width <= 2) {
    emit_from(code, ZYDIS_MNEMONIC_MOVZX, sized(reg64, 4), place, static_cast<uint16_t>(width));
  } else {
    emit_from(code, ZYDIS_MNEMONIC_MOV, sized(reg64, width), place, static_cast<uint16_t>(width));
  }
}

// Stores the low `width` bytes (1 to 8) of `reg64` at `place`: one access.
void emit_store_sized(x86::CodeWriter& code, const Place& place, ZydisRegister reg64,
                      unsigned width) {
  emit_to(code, ZYDIS_MNEMONIC_MOV, place, sized(reg64, width), 0, static_cast<uint16_t>(width));
}

// A vector move of `width` bytes (16, 32 or 64) between vector register `number` and memory.
// 16 bytes with legacy SSE (which leaves the upper bits of the register alone); 32 with VEX; 64
// with EVEX.
void emit_vector_move(x86::CodeWriter& code, int number, unsigned width, const Place& place,
                      bool to_memory) {
  ZydisMnemonic mnemonic = width == 16   ? ZYDIS_MNEMONIC_MOVDQU
                           : width == 32 ? ZYDIS_MNEMONIC_VMOVDQU
                                         : ZYDIS_MNEMONIC_VMOVDQU64;
  ZydisRegister reg = static_cast<ZydisRegister>((width == 16   ? ZYDIS_REGISTER_XMM0
                                                  : width == 32 ? ZYDIS_REGISTER_YMM0
                                                                : ZYDIS_REGISTER_ZMM0) +
                                                 number);
  ZydisEncoderRequest r = x86::CodeWriter::request(mnemonic);
  // EVEX forms take their mask register as an operand: k0, none.
  const bool evex = width == 64;
  r.operand_count = evex ? 3 : 2;
  ZydisEncoderOperand& memory = r.operands[to_memory ? 0 : r.operand_count - 1];
  ZydisEncoderOperand& vector = r.operands[to_memory ? r.operand_count - 1 : 0];
  set_place(r, memory, place, static_cast<uint16_t>(width));
  set_register(vector, reg);
  if (evex) set_register(r.operands[1], ZYDIS_REGISTER_K0);
  code.emit(r);
}

// --- The sequence ----------------------------------------------------------------------------

// Builds one instrumented access: the prologue, the checks and the slow paths every form shares,
// around the form's own body.
class AccessBuilder {
 public:
  AccessBuilder(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
                const Analysis& analysis, uintptr_t original_pc, const uint8_t* original_bytes,
                const FlagLiveness& flags, const ThreadStateOffsets& offsets, uint8_t* out,
                size_t room)
      : instruction_(instruction),
        operands_(operands),
        a_(analysis),
        pc_(original_pc),
        bytes_(original_bytes),
        flags_(flags),
        offsets_(offsets),
        out_(out),
        code_(out, room) {
    // Flags an instruction leaves undefined may keep the values they had (some CPUs do): the
    // instruction then runs with the program's, as it would in place.
    if (a_.form == Form::Bounce && a_.undefined_flags) flags_.before = true;
  }

  size_t build(DivertedAccessLayout* layout);
  size_t build_string(DivertedAccessLayout* layout);

 private:
  // Records this access takes in the log: a read's, a write's, each with its continuations.
  size_t span() const {
    return (a_.reads ? access_record_span(a_.width) : 0) +
           (a_.writes && a_.form == Form::Bounce ? access_record_span(a_.width) : 0) +
           (a_.form == Form::Direct ? 1 : 0);
  }
  // A field of the record at `index` of the access's span, once `work` holds the address of its
  // first record.
  Place slot(size_t index, size_t field) const {
    Place place = at_register(work_);
    place.displacement = static_cast<int32_t>(index * sizeof(AccessRecord) + field);
    return place;
  }
  Place log(size_t displacement, ZydisRegister index = ZYDIS_REGISTER_NONE) const {
    return in_thread(offsets_.log, displacement, index);
  }
  Place cache(size_t displacement) const { return in_thread(offsets_.region_cache, displacement); }
  bool choose_scratch();
  void emit_prologue();
  void emit_epilogue();
  void emit_checks();
  void emit_slow_paths();
  void emit_direct_body();
  void emit_bounce_body();
  // Completes the record at `index` of the access's span with its info, written after every
  // other field: a record with an info is whole (core/staged_access_log.hpp).
  void emit_record_fields(size_t index, uint64_t info);
  // Copies the operand between the alias (at `address`) and the bounce buffer, with one access,
  // and its value into the record at `index` and its continuations.
  void emit_copy(bool from_alias, size_t index);
  // The original instruction with its memory operand replaced (its base `base`, or the bounce
  // buffer when `base` is NONE).
  bool emit_redirected(ZydisRegister base);

  const ZydisDecodedInstruction& instruction_;
  const ZydisDecodedOperand* operands_;
  const Analysis& a_;
  uintptr_t pc_;
  const uint8_t* bytes_;
  FlagLiveness flags_;
  ThreadStateOffsets offsets_;
  uint8_t* out_;
  x86::CodeWriter code_;
  ZydisRegister address_ = ZYDIS_REGISTER_NONE;  // the traced address, then the alias's
  ZydisRegister work_ = ZYDIS_REGISTER_NONE;     // the checks, then the record's offset
  ZydisRegister value_ = ZYDIS_REGISTER_NONE;    // the value, the PC (bounce form only)
  int vector_ = -1;                              // a vector register set aside (wide bounce)
  size_t check_label_ = 0;
  size_t counted_label_ = 0;
  size_t to_slow_ = 0, to_stale_ = 0, to_full_ = 0, to_done_ = 0, to_misaligned_ = 0;
};

bool AccessBuilder::choose_scratch() {
  ZydisRegister* wanted[3] = {&address_, &work_, &value_};
  const size_t count = a_.form == Form::Direct ? 2 : 3;
  size_t found = 0;
  for (int number = 0; number < kGprs && found < count; ++number) {
    if (number == ZYDIS_REGISTER_RSP - ZYDIS_REGISTER_RAX || (a_.gprs & (1u << number))) continue;
    *wanted[found++] = static_cast<ZydisRegister>(ZYDIS_REGISTER_RAX + number);
  }
  if (found < count) return false;
  if (a_.form == Form::Bounce && a_.width > 8) {
    for (int number = 15; number >= 0; --number) {
      if (!(a_.vectors & (1u << number))) {
        vector_ = number;
        break;
      }
    }
    if (vector_ < 0) return false;
  }
  return true;
}

void AccessBuilder::emit_prologue() {
  emit_move_stack(code_, -kRedZone);
  code_.push(address_);
  code_.push(work_);
  if (value_ != ZYDIS_REGISTER_NONE) code_.push(value_);
  if (flags_.before) code_.plain(ZYDIS_MNEMONIC_PUSHFQ);
  const ZydisDecodedOperand& m = operands_[a_.memory];
  ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_LEA);
  r.operand_count = 2;
  set_register(r.operands[0], address_);
  r.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
  r.operands[1].mem.base = m.mem.base;
  r.operands[1].mem.index = m.mem.index;
  r.operands[1].mem.scale = m.mem.index == ZYDIS_REGISTER_NONE ? 0 : m.mem.scale;
  r.operands[1].mem.displacement = m.mem.disp.value;
  r.operands[1].mem.size = 8;
  code_.emit(r);
  if (a_.aligned) {
    // A misaligned operand faults in place, as it does untraced.
    emit_with_immediate(code_, ZYDIS_MNEMONIC_TEST, address_, a_.width - 1);
    to_misaligned_ = branch_placeholder(code_, kJne, sizeof(kJne));
  }
}

void AccessBuilder::emit_epilogue() {
  if (value_ != ZYDIS_REGISTER_NONE) code_.pop(value_);
  code_.pop(work_);
  code_.pop(address_);
  emit_move_stack(code_, kRedZone);
}

// The region this thread reached last, if the regions have not changed since (work = the
// access's offset in it, against its limit for this width); then room for the records, a full
// log being emptied before the access so that the access is made once whatever happens.
void AccessBuilder::emit_checks() {
  const unsigned log2_width = static_cast<unsigned>(__builtin_ctz(a_.width));
  const RegionView& view = region_view();
  check_label_ = code_.size();
  code_.move(work_, address_);
  emit_from(code_, ZYDIS_MNEMONIC_SUB, work_, cache(offsetof(RegionCache, low)));
  emit_from(code_, ZYDIS_MNEMONIC_CMP, work_,
            cache(offsetof(RegionCache, limit) + log2_width * sizeof(uint64_t)));
  to_slow_ = branch_placeholder(code_, kJa, sizeof(kJa));
  emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, work_,
                      static_cast<int64_t>(reinterpret_cast<uintptr_t>(&view.generation)));
  emit_from(code_, ZYDIS_MNEMONIC_MOV, work_, at_register(work_));
  emit_from(code_, ZYDIS_MNEMONIC_CMP, work_, cache(offsetof(RegionCache, generation)));
  to_stale_ = branch_placeholder(code_, kJne, sizeof(kJne));
  emit_from(code_, ZYDIS_MNEMONIC_MOV, work_, log(offsetof(AccessLog, count)));
  emit_with_immediate(code_, ZYDIS_MNEMONIC_CMP, work_,
                      static_cast<int64_t>(kAccessLogRecords - span()));
  to_full_ = branch_placeholder(code_, kJa, sizeof(kJa));
  emit_with_immediate(code_, ZYDIS_MNEMONIC_SHL, work_, 5);
  static_assert(sizeof(AccessRecord) == 32);
  emit_from(code_, ZYDIS_MNEMONIC_ADD, work_, log(offsetof(AccessLog, records)));
}

void AccessBuilder::emit_record_fields(size_t index, uint64_t info) {
  emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(index, offsetof(AccessRecord, info)), ZYDIS_REGISTER_NONE,
          static_cast<int64_t>(info));
}

// The MOV family: the instruction itself on the alias; the record's value is the register it
// stores (or the immediate), or the register it loaded.
void AccessBuilder::emit_direct_body() {
  const bool write = a_.memory == 0;
  const ZydisDecodedOperand& other = operands_[write ? 1 : 0];
  emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, address)), address_);
  emit_from(code_, ZYDIS_MNEMONIC_ADD, address_, cache(offsetof(RegionCache, delta)));
  emit_redirected(address_);
  if (other.type == ZYDIS_OPERAND_TYPE_REGISTER) {
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, value)),
            enclosing64(other.reg.value));
  } else {
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, value)), ZYDIS_REGISTER_NONE,
            other.imm.value.s);
  }
  emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, address_, static_cast<int64_t>(pc_));
  emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, pc)), address_);
  emit_record_fields(0, a_.width | (write ? kAccessWrite : 0));
  emit_to(code_, ZYDIS_MNEMONIC_ADD, log(offsetof(AccessLog, count)), ZYDIS_REGISTER_NONE, 1);
}

void AccessBuilder::emit_copy(bool from_alias, size_t index) {
  const Place alias = at_register(address_);
  const Place bounce = log(offsetof(AccessLog, bounce));
  const Place value = slot(index, offsetof(AccessRecord, value));
  if (a_.width <= 8) {
    emit_load_zero_extended(code_, value_, from_alias ? alias : bounce, a_.width);
    emit_store_sized(code_, from_alias ? bounce : alias, value_, a_.width);
    emit_to(code_, ZYDIS_MNEMONIC_MOV, value, value_);
    return;
  }
  // A wide operand, through a vector register set aside in the log's spill (64 bytes where
  // AVX-512 is, so that the bits above the width are kept too).
  const unsigned spill = x86::has_avx512() ? 64 : a_.width;
  const Place spilled = log(offsetof(AccessLog, spill));
  emit_vector_move(code_, vector_, spill == 64 ? 64 : a_.width, spilled, /*to_memory=*/true);
  emit_vector_move(code_, vector_, a_.width, from_alias ? alias : bounce, false);
  emit_vector_move(code_, vector_, a_.width, from_alias ? bounce : alias, true);
  // The whole value in the continuations, and its first 8 bytes in the record itself.
  emit_vector_move(code_, vector_, a_.width, slot(index + 1, 0), true);
  emit_vector_move(code_, vector_, spill == 64 ? 64 : a_.width, spilled, false);
  emit_from(code_, ZYDIS_MNEMONIC_MOV, value_, bounce);
  emit_to(code_, ZYDIS_MNEMONIC_MOV, value, value_);
}

// Any other instruction: the operand read once from the alias into the bounce buffer (and
// logged), the instruction run on the buffer, and what it wrote stored back once (and logged).
void AccessBuilder::emit_bounce_body() {
  const size_t read_span = a_.reads ? access_record_span(a_.width) : 0;
  const size_t write_index = read_span;
  // The traced address into each record, then the alias.
  if (a_.reads) {
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, address)), address_);
  }
  if (a_.writes) {
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(write_index, offsetof(AccessRecord, address)),
            address_);
  }
  emit_from(code_, ZYDIS_MNEMONIC_ADD, address_, cache(offsetof(RegionCache, delta)));
  if (a_.reads) {
    emit_copy(/*from_alias=*/true, 0);
    emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, value_, static_cast<int64_t>(pc_));
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, pc)), value_);
    emit_record_fields(0, a_.width);
  }
  // The instruction on the buffer, with the program's flags; what it makes of them kept.
  if (flags_.before) code_.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_redirected(ZYDIS_REGISTER_NONE);
  if (flags_.after) code_.plain(ZYDIS_MNEMONIC_PUSHFQ);
  if (a_.writes) {
    // The write's info last, once it is made: a record with an info is one that happened
    // (core/staged_access_log.hpp).
    emit_copy(/*from_alias=*/false, write_index);
    emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, value_, static_cast<int64_t>(pc_));
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(write_index, offsetof(AccessRecord, pc)), value_);
    emit_record_fields(write_index, a_.width | kAccessWrite);
  }
  emit_to(code_, ZYDIS_MNEMONIC_ADD, log(offsetof(AccessLog, count)), ZYDIS_REGISTER_NONE,
          static_cast<int64_t>(span()));
}

bool AccessBuilder::emit_redirected(ZydisRegister base) {
  ZydisEncoderRequest r;
  if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
          &instruction_, operands_, instruction_.operand_count_visible, &r))) {
    return false;
  }
  ZydisEncoderOperand& redirected = r.operands[a_.memory];
  r.prefixes &= ~(ZYDIS_ATTRIB_HAS_SEGMENT_CS | ZYDIS_ATTRIB_HAS_SEGMENT_SS |
                  ZYDIS_ATTRIB_HAS_SEGMENT_DS | ZYDIS_ATTRIB_HAS_SEGMENT_ES);
  if (base != ZYDIS_REGISTER_NONE) {
    redirected.mem.base = base;
    redirected.mem.index = ZYDIS_REGISTER_NONE;
    redirected.mem.scale = 0;
    redirected.mem.displacement = 0;
  } else {
    r.prefixes |= ZYDIS_ATTRIB_HAS_SEGMENT_FS;
    redirected.mem.base = ZYDIS_REGISTER_NONE;
    redirected.mem.index = ZYDIS_REGISTER_NONE;
    redirected.mem.scale = 0;
    redirected.mem.displacement = offsets_.log + static_cast<int64_t>(offsetof(AccessLog, bounce));
  }
  code_.emit(r);
  return true;
}

size_t AccessBuilder::build(DivertedAccessLayout* layout) {
  for (intptr_t offset : {offsets_.log, offsets_.region_cache}) {
    if (offset < INT32_MIN || offset > INT32_MAX - static_cast<intptr_t>(sizeof(AccessLog))) {
      return 0;
    }
  }
  if (!choose_scratch()) return 0;
  if (a_.form == Form::String) return build_string(layout);
  emit_prologue();
  emit_checks();
  bool redirected = true;
  if (a_.form == Form::Direct) {
    emit_direct_body();
  } else {
    emit_bounce_body();
  }
  counted_label_ = code_.size();
  if (a_.form == Form::Bounce ? flags_.after : flags_.before) code_.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_epilogue();
  to_done_ = branch_placeholder(code_, kJmp, sizeof(kJmp));
  emit_slow_paths();
  if (!redirected || !code_.ok()) return 0;
  if (layout != nullptr) {
    layout->critical_begin = static_cast<uint16_t>(check_label_);
    layout->critical_end = static_cast<uint16_t>(counted_label_);
  }
  return code_.size();
}

// REP STOS and REP MOVS, forward (a set direction flag leaves the instruction to run in place),
// one element a turn, while they touch traced memory: an element whose traced side (STOS's
// destination; MOVS's destination or source, the other being untraced) is in the region cache
// is made on the alias with the element's width and logged, RDI (and RSI) advanced and RCX
// counted down as the instruction would; when neither side is traced any more, or both are, the
// instruction runs in place for the elements left (and is emulated there if it faults).
size_t AccessBuilder::build_string(DivertedAccessLayout* layout) {
  const unsigned w = a_.width;
  const unsigned log2_width = static_cast<unsigned>(__builtin_ctz(w));
  const RegionView& view = region_view();
  const Place limit = cache(offsetof(RegionCache, limit) + log2_width * sizeof(uint64_t));
  const ZydisRegister rdi = ZYDIS_REGISTER_RDI;
  const ZydisRegister rsi = ZYDIS_REGISTER_RSI;
  const ZydisRegister rcx = ZYDIS_REGISTER_RCX;
  emit_move_stack(code_, -kRedZone);
  code_.push(address_);
  code_.push(work_);
  code_.push(value_);
  code_.plain(ZYDIS_MNEMONIC_PUSHFQ);
  // A set direction flag: in place.
  emit_to(code_, ZYDIS_MNEMONIC_TEST, at_register(ZYDIS_REGISTER_RSP), ZYDIS_REGISTER_NONE, 0x400,
          4);
  const size_t to_in_place_backwards = branch_placeholder(code_, kJne, sizeof(kJne));

  const size_t element_label = code_.size();
  {
    ZydisEncoderRequest r = x86::CodeWriter::request(ZYDIS_MNEMONIC_TEST);
    r.operand_count = 2;
    set_register(r.operands[0], rcx);
    set_register(r.operands[1], rcx);
    code_.emit(r);
  }
  const size_t to_finished = branch_placeholder(code_, kJe, sizeof(kJe));

  // Whether `reg`'s element lies in the cached region (work = its offset), as a branch to a hit.
  auto fast_check = [&](ZydisRegister reg) {
    code_.move(address_, reg);
    code_.move(work_, address_);
    emit_from(code_, ZYDIS_MNEMONIC_SUB, work_, cache(offsetof(RegionCache, low)));
    emit_from(code_, ZYDIS_MNEMONIC_CMP, work_, limit);
    const size_t to_outside = branch_placeholder(code_, kJa, sizeof(kJa));
    emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, work_,
                        static_cast<int64_t>(reinterpret_cast<uintptr_t>(&view.generation)));
    emit_from(code_, ZYDIS_MNEMONIC_MOV, work_, at_register(work_));
    emit_from(code_, ZYDIS_MNEMONIC_CMP, work_, cache(offsetof(RegionCache, generation)));
    const size_t to_stale = branch_placeholder(code_, kJne, sizeof(kJne));
    return std::pair{to_outside, to_stale};
  };
  // Jumps to `known` when `reg` lies outside every region (the filter) or in the untraced
  // stretch found last; falls through when the cache cannot tell. Uses work.
  auto known_untraced = [&](ZydisRegister reg, Branches& to_known) {
    emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, work_,
                        static_cast<int64_t>(reinterpret_cast<uintptr_t>(&view.filter_low)));
    emit_from(code_, ZYDIS_MNEMONIC_CMP, reg, at_register(work_));
    to_known.push_back(branch_placeholder(code_, kJb, sizeof(kJb)));
    Place high = at_register(work_);
    high.displacement =
        static_cast<int32_t>(offsetof(RegionView, filter_high) - offsetof(RegionView, filter_low));
    emit_from(code_, ZYDIS_MNEMONIC_CMP, reg, high);
    to_known.push_back(branch_placeholder(code_, kJae, sizeof(kJae)));
    emit_from(code_, ZYDIS_MNEMONIC_CMP, reg, cache(offsetof(RegionCache, gap_low)));
    const size_t to_unknown_below = branch_placeholder(code_, kJb, sizeof(kJb));
    emit_from(code_, ZYDIS_MNEMONIC_CMP, reg, cache(offsetof(RegionCache, gap_high)));
    const size_t to_unknown_above = branch_placeholder(code_, kJae, sizeof(kJae));
    Place generation = at_register(work_);
    generation.displacement =
        static_cast<int32_t>(offsetof(RegionView, generation) - offsetof(RegionView, filter_low));
    emit_from(code_, ZYDIS_MNEMONIC_MOV, work_, generation);
    emit_from(code_, ZYDIS_MNEMONIC_CMP, work_, cache(offsetof(RegionCache, gap_generation)));
    to_known.push_back(branch_placeholder(code_, kJe, sizeof(kJe)));
    patch_branch(out_, to_unknown_below, code_.size());
    patch_branch(out_, to_unknown_above, code_.size());
  };
  // Room for one record (work = its address), or a branch to the full log.
  auto room = [&]() {
    emit_from(code_, ZYDIS_MNEMONIC_MOV, work_, log(offsetof(AccessLog, count)));
    emit_with_immediate(code_, ZYDIS_MNEMONIC_CMP, work_,
                        static_cast<int64_t>(kAccessLogRecords - 1));
    const size_t to_full = branch_placeholder(code_, kJa, sizeof(kJa));
    emit_with_immediate(code_, ZYDIS_MNEMONIC_SHL, work_, 5);
    emit_from(code_, ZYDIS_MNEMONIC_ADD, work_, log(offsetof(AccessLog, records)));
    return to_full;
  };
  // The record's PC, info and count (value and address written before).
  auto finish_record = [&](bool write) {
    emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, address_, static_cast<int64_t>(pc_));
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, pc)), address_);
    emit_record_fields(0, w | (write ? kAccessWrite : 0));
    emit_to(code_, ZYDIS_MNEMONIC_ADD, log(offsetof(AccessLog, count)), ZYDIS_REGISTER_NONE, 1);
  };

  Branches to_check, to_full, to_in_place, to_counted, to_ask_destination, to_ask_source,
      to_source_check;
  // The critical part: every read of the region cache, up to the count of the record.
  check_label_ = code_.size();
  auto [destination_outside, destination_stale] = fast_check(rdi);
  const size_t to_destination_traced = branch_placeholder(code_, kJmp, sizeof(kJmp));
  patch_branch(out_, destination_outside, code_.size());
  patch_branch(out_, destination_stale, code_.size());
  to_ask_destination.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));

  size_t source_check_label = 0;
  if (a_.moves) {
    // The destination is untraced: the source's turn.
    source_check_label = code_.size();
    auto [source_outside, source_stale] = fast_check(rsi);
    const size_t to_source_traced = branch_placeholder(code_, kJmp, sizeof(kJmp));
    patch_branch(out_, source_outside, code_.size());
    patch_branch(out_, source_stale, code_.size());
    to_ask_source.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));

    // The source is traced (address = RSI), the destination not: read on the alias, store in
    // place.
    patch_branch(out_, to_source_traced, code_.size());
    to_full.push_back(room());
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, address)), address_);
    emit_from(code_, ZYDIS_MNEMONIC_ADD, address_, cache(offsetof(RegionCache, delta)));
    emit_load_zero_extended(code_, value_, at_register(address_), w);
    emit_store_sized(code_, at_register(rdi), value_, w);
    emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, value)), value_);
    finish_record(/*write=*/false);
    to_counted.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
  }

  // The destination is traced (address = RDI): MOVS's source must be untraced, as far as the
  // cache can tell (both traced, or not known: in place).
  patch_branch(out_, to_destination_traced, code_.size());
  if (a_.moves) {
    Branches to_source_untraced;
    known_untraced(rsi, to_source_untraced);
    to_in_place.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
    for (size_t at : to_source_untraced)
      patch_branch(out_, at, code_.size());
  }
  to_full.push_back(room());
  emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, address)), address_);
  emit_from(code_, ZYDIS_MNEMONIC_ADD, address_, cache(offsetof(RegionCache, delta)));
  if (a_.moves) {
    emit_load_zero_extended(code_, value_, at_register(rsi), w);
  } else {
    code_.move(value_, ZYDIS_REGISTER_RAX);
  }
  emit_store_sized(code_, at_register(address_), value_, w);
  emit_to(code_, ZYDIS_MNEMONIC_MOV, slot(0, offsetof(AccessRecord, value)), value_);
  finish_record(/*write=*/true);

  counted_label_ = code_.size();
  for (size_t at : to_counted)
    patch_branch(out_, at, counted_label_);
  // The next element.
  emit_with_immediate(code_, ZYDIS_MNEMONIC_ADD, rdi, w);
  if (a_.moves) emit_with_immediate(code_, ZYDIS_MNEMONIC_ADD, rsi, w);
  emit_with_immediate(code_, ZYDIS_MNEMONIC_SUB, rcx, 1);
  const size_t to_element = branch_placeholder(code_, kJmp, sizeof(kJmp));
  patch_branch(out_, to_element, element_label);

  // Out of the critical part: what the cache could not tell, a full log, the end. A lookup
  // that finds the element traced checks again; one that does not leaves the rest in place
  // (the CPU faults on what is traced, and the engine emulates it), unless it found the
  // destination untraced, when MOVS looks at its source.
  auto ask = [&](ZydisRegister reg) {
    emit_to(code_, ZYDIS_MNEMONIC_MOV, cache(offsetof(RegionCache, query_address)), reg);
    emit_to(code_, ZYDIS_MNEMONIC_MOV, cache(offsetof(RegionCache, query_width)),
            ZYDIS_REGISTER_NONE, w);
    emit_call(code_, work_, reinterpret_cast<const void*>(&mmiotrace_region_lookup_thunk));
    emit_to(code_, ZYDIS_MNEMONIC_CMP, cache(offsetof(RegionCache, query_hit)), ZYDIS_REGISTER_NONE,
            0);
    to_check.push_back(branch_placeholder(code_, kJne, sizeof(kJne)));
  };
  const size_t ask_destination_label = code_.size();
  for (size_t at : to_ask_destination)
    patch_branch(out_, at, ask_destination_label);
  {
    Branches to_destination_untraced;
    known_untraced(rdi, to_destination_untraced);
    ask(rdi);
    known_untraced(rdi, to_destination_untraced);  // the stretch the lookup found
    to_in_place.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
    const size_t untraced_label = code_.size();
    for (size_t at : to_destination_untraced)
      patch_branch(out_, at, untraced_label);
    if (a_.moves) {
      to_source_check.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
    } else {
      to_in_place.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
    }
    if (to_destination_untraced.overflowed) return 0;
  }
  if (a_.moves) {
    const size_t ask_source_label = code_.size();
    for (size_t at : to_ask_source)
      patch_branch(out_, at, ask_source_label);
    Branches to_source_untraced;
    known_untraced(rsi, to_source_untraced);
    ask(rsi);
    for (size_t at : to_source_untraced)
      patch_branch(out_, at, code_.size());
    to_in_place.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
    for (size_t at : to_source_check)
      patch_branch(out_, at, source_check_label);
  }
  const size_t full_label = code_.size();
  for (size_t at : to_full)
    patch_branch(out_, at, full_label);
  emit_call(code_, work_, reinterpret_cast<const void*>(&mmiotrace_access_log_flush_thunk));
  to_check.push_back(branch_placeholder(code_, kJmp, sizeof(kJmp)));
  for (size_t at : to_check)
    patch_branch(out_, at, check_label_);

  // Every element done: the instruction is over.
  patch_branch(out_, to_finished, code_.size());
  code_.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_epilogue();
  const size_t to_done = branch_placeholder(code_, kJmp, sizeof(kJmp));
  // The rest in place (the CPU takes the elements from where RDI, RSI and RCX are now).
  const size_t in_place_label = code_.size();
  for (size_t at : to_in_place)
    patch_branch(out_, at, in_place_label);
  patch_branch(out_, to_in_place_backwards, in_place_label);
  code_.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_epilogue();
  code_.raw(bytes_, instruction_.length);
  patch_branch(out_, to_done, code_.size());
  for (const Branches* branches : {&to_check, &to_full, &to_in_place, &to_counted,
                                   &to_ask_destination, &to_ask_source, &to_source_check}) {
    if (branches->overflowed) return 0;
  }
  if (!code_.ok()) return 0;
  if (layout != nullptr) {
    layout->critical_begin = static_cast<uint16_t>(check_label_);
    layout->critical_end = static_cast<uint16_t>(counted_label_);
  }
  return code_.size();
}

// Out of the hot path: a full log (emptied, then everything checked again: a signal handler may
// have run); a region cache that cannot tell (outside every region, per the filter, or in the
// untraced stretch found last, is a miss; otherwise the engine is asked, and a hit checked
// again); a miss (the instruction as it is, on the program's memory: it has no RIP-relative
// operand, so it moves unchanged).
void AccessBuilder::emit_slow_paths() {
  const RegionView& view = region_view();
  const size_t full_label = code_.size();
  emit_call(code_, work_, reinterpret_cast<const void*>(&mmiotrace_access_log_flush_thunk));
  const size_t to_check_after_flush = branch_placeholder(code_, kJmp, sizeof(kJmp));

  const size_t slow_label = code_.size();
  emit_with_immediate(code_, ZYDIS_MNEMONIC_MOV, work_,
                      static_cast<int64_t>(reinterpret_cast<uintptr_t>(&view.filter_low)));
  emit_from(code_, ZYDIS_MNEMONIC_CMP, address_, at_register(work_));
  const size_t to_miss_below = branch_placeholder(code_, kJb, sizeof(kJb));
  Place filter_high = at_register(work_);
  filter_high.displacement =
      static_cast<int32_t>(offsetof(RegionView, filter_high) - offsetof(RegionView, filter_low));
  emit_from(code_, ZYDIS_MNEMONIC_CMP, address_, filter_high);
  const size_t to_miss_above = branch_placeholder(code_, kJae, sizeof(kJae));
  emit_from(code_, ZYDIS_MNEMONIC_CMP, address_, cache(offsetof(RegionCache, gap_low)));
  const size_t to_ask_below = branch_placeholder(code_, kJb, sizeof(kJb));
  emit_from(code_, ZYDIS_MNEMONIC_CMP, address_, cache(offsetof(RegionCache, gap_high)));
  const size_t to_ask_above = branch_placeholder(code_, kJae, sizeof(kJae));
  Place generation = at_register(work_);
  generation.displacement =
      static_cast<int32_t>(offsetof(RegionView, generation) - offsetof(RegionView, filter_low));
  emit_from(code_, ZYDIS_MNEMONIC_MOV, work_, generation);
  emit_from(code_, ZYDIS_MNEMONIC_CMP, work_, cache(offsetof(RegionCache, gap_generation)));
  const size_t to_miss_in_gap = branch_placeholder(code_, kJe, sizeof(kJe));
  const size_t ask_label = code_.size();
  emit_to(code_, ZYDIS_MNEMONIC_MOV, cache(offsetof(RegionCache, query_address)), address_);
  emit_to(code_, ZYDIS_MNEMONIC_MOV, cache(offsetof(RegionCache, query_width)), ZYDIS_REGISTER_NONE,
          a_.width);
  emit_call(code_, work_, reinterpret_cast<const void*>(&mmiotrace_region_lookup_thunk));
  emit_to(code_, ZYDIS_MNEMONIC_CMP, cache(offsetof(RegionCache, query_hit)), ZYDIS_REGISTER_NONE,
          0);
  const size_t to_check_after_lookup = branch_placeholder(code_, kJne, sizeof(kJne));

  const size_t miss_label = code_.size();
  if (flags_.before) code_.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_epilogue();
  code_.raw(bytes_, instruction_.length);
  const size_t done_label = code_.size();
  if (!code_.ok()) return;
  patch_branch(out_, to_slow_, slow_label);
  patch_branch(out_, to_stale_, slow_label);
  patch_branch(out_, to_full_, full_label);
  patch_branch(out_, to_done_, done_label);
  if (a_.aligned) patch_branch(out_, to_misaligned_, miss_label);
  patch_branch(out_, to_check_after_flush, check_label_);
  patch_branch(out_, to_miss_below, miss_label);
  patch_branch(out_, to_miss_above, miss_label);
  patch_branch(out_, to_ask_below, ask_label);
  patch_branch(out_, to_ask_above, ask_label);
  patch_branch(out_, to_miss_in_gap, miss_label);
  patch_branch(out_, to_check_after_lookup, check_label_);
}

}  // namespace

bool can_divert(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands) {
  return analyze(instruction, operands).form != Form::None;
}

size_t build_diverted_access(const ZydisDecodedInstruction& instruction,
                             const ZydisDecodedOperand* operands, uintptr_t original_pc,
                             const uint8_t* original_bytes, const FlagLiveness& flags,
                             const ThreadStateOffsets& offsets, uint8_t* out, size_t room,
                             DivertedAccessLayout* layout) {
  const Analysis analysis = analyze(instruction, operands);
  if (analysis.form == Form::None) return 0;
  AccessBuilder builder(instruction, operands, analysis, original_pc, original_bytes, flags,
                        offsets, out, room);
  return builder.build(layout);
}

size_t build_exit_flush(intptr_t log_offset, uint8_t* out, size_t room) {
  x86::CodeWriter code(out, room);
  emit_move_stack(code, -kRedZone);
  code.plain(ZYDIS_MNEMONIC_PUSHFQ);
  emit_to(code, ZYDIS_MNEMONIC_CMP, in_thread(log_offset, offsetof(AccessLog, count)),
          ZYDIS_REGISTER_NONE, 0);
  size_t to_skip = branch_placeholder(code, kJe, sizeof(kJe));
  code.push(ZYDIS_REGISTER_RAX);
  emit_call(code, ZYDIS_REGISTER_RAX,
            reinterpret_cast<const void*>(&mmiotrace_access_log_flush_thunk));
  code.pop(ZYDIS_REGISTER_RAX);
  const size_t skip_label = code.size();
  code.plain(ZYDIS_MNEMONIC_POPFQ);
  emit_move_stack(code, kRedZone);
  if (!code.ok()) return 0;
  patch_branch(out, to_skip, skip_label);
  return code.size();
}

}  // namespace mmiotrace::codecache
