// mmiotrace: signal-safe
// Building emulation stubs with the Zydis encoder (see stub_builder.hpp).
#include "x86/stub_builder.hpp"

#include <cpuid.h>

#include <atomic>
#include <cstddef>
#include <cstring>

#include "x86/code_arena.hpp"
#include "x86/code_writer.hpp"
#include "x86/emulator.hpp"
#include "x86/guarded_access.hpp"

namespace mmiotrace::x86 {
namespace {

constexpr int kRsp = 4;
constexpr uint64_t kX87 = 1 << 0;
constexpr uint64_t kSse = 1 << 1;
constexpr uint64_t kAvx = 1 << 2;
constexpr uint64_t kAvx512 = (1 << 5) | (1 << 6) | (1 << 7);

int32_t offset_of_gpr(int number) {
  return static_cast<int32_t>(offsetof(EmulationArea, gpr) + 8 * static_cast<size_t>(number));
}
#define AREA_FIELD(field) static_cast<int32_t>(offsetof(EmulationArea, field))

constexpr ZydisRegister kCalleeSaved[] = {ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_RBP,
                                          ZYDIS_REGISTER_R12, ZYDIS_REGISTER_R13,
                                          ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15};

// The flags the host's code expects (DF and AC clear), whatever the guest left.
void emit_host_flags(CodeWriter& code) {
  const uint8_t push_2_popfq[] = {0x6a, 0x02, 0x9d};
  code.raw(push_2_popfq, sizeof(push_2_popfq));
}

void emit_host_save(CodeWriter& code) {
  for (ZydisRegister reg : kCalleeSaved)
    code.push(reg);
  code.store(ZYDIS_REGISTER_RDI, AREA_FIELD(host_rsp), ZYDIS_REGISTER_RSP);
  code.memory_only(ZYDIS_MNEMONIC_STMXCSR, ZYDIS_REGISTER_RDI, AREA_FIELD(host_mxcsr), 4);
  code.memory_only(ZYDIS_MNEMONIC_FNSTCW, ZYDIS_REGISTER_RDI, AREA_FIELD(host_fcw), 2);
}

// With RDI = area: back to the host's stack, control registers and callee-saved registers.
void emit_host_restore(CodeWriter& code) {
  code.load(ZYDIS_REGISTER_RSP, ZYDIS_REGISTER_RDI, AREA_FIELD(host_rsp));
  emit_host_flags(code);
  code.memory_only(ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_REGISTER_RDI, AREA_FIELD(host_mxcsr), 4);
  code.memory_only(ZYDIS_MNEMONIC_FLDCW, ZYDIS_REGISTER_RDI, AREA_FIELD(host_fcw), 2);
  for (int i = 5; i >= 0; --i)
    code.pop(kCalleeSaved[i]);
}

// XRSTOR64/XSAVE64 (or FXRSTOR64/FXSAVE64) of the frame's state, with RDI = area. Uses RAX, RDX
// and RBX, before the guest's registers are loaded or after they are saved.
void emit_xstate(CodeWriter& code, bool restore) {
  code.load(ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_RDI, AREA_FIELD(xstate));
  if (cpu_state().xsave) {
    code.load(ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_RDI, AREA_FIELD(xstate_mask), 4);
    code.load(ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_RDI, AREA_FIELD(xstate_mask) + 4, 4);
    const uint8_t xrstor64_rbx[] = {0x48, 0x0f, 0xae, 0x2b};
    const uint8_t xsave64_rbx[] = {0x48, 0x0f, 0xae, 0x23};
    code.raw(restore ? xrstor64_rbx : xsave64_rbx, 4);
  } else {
    const uint8_t fxrstor64_rbx[] = {0x48, 0x0f, 0xae, 0x0b};
    const uint8_t fxsave64_rbx[] = {0x48, 0x0f, 0xae, 0x03};
    code.raw(restore ? fxrstor64_rbx : fxsave64_rbx, 4);
  }
}

// Registers the instruction names, explicitly or not, as encoding-number bits.
uint32_t registers_used(const ZydisDecodedInstruction& instruction,
                        const ZydisDecodedOperand* operands) {
  uint32_t used = 1u << kRsp;
  for (unsigned i = 0; i < instruction.operand_count; ++i) {
    const ZydisDecodedOperand& op = operands[i];
    auto note = [&used](ZydisRegister reg) {
      int number = gpr_number(reg);
      if (number >= 0) used |= 1u << number;
    };
    if (op.type == ZYDIS_OPERAND_TYPE_REGISTER) note(op.reg.value);
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      note(op.mem.base);
      note(op.mem.index);
    }
  }
  return used;
}

bool names_high_byte_register(const ZydisDecodedInstruction& instruction,
                              const ZydisDecodedOperand* operands) {
  for (unsigned i = 0; i < instruction.operand_count; ++i) {
    if (operands[i].type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    ZydisRegister reg = operands[i].reg.value;
    if (reg == ZYDIS_REGISTER_AH || reg == ZYDIS_REGISTER_BH || reg == ZYDIS_REGISTER_CH ||
        reg == ZYDIS_REGISTER_DH) {
      return true;
    }
  }
  return false;
}

// The instruction again, with operand `operand_index` at [operand_register] (unchanged when
// `operand_index` is negative).
bool emit_redirected(CodeWriter& code, const ZydisDecodedInstruction& instruction,
                     const ZydisDecodedOperand* operands, int operand_index,
                     ZydisRegister operand_register) {
  ZydisEncoderRequest request;
  if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
          &instruction, operands, instruction.operand_count_visible, &request))) {
    return false;
  }
  if (operand_index < 0) {
    // The operand is implicit: the instruction runs as it is, its base register pointed at the
    // target by the emulator.
    code.emit(request);
    return code.ok();
  }
  ZydisEncoderOperand& memory = request.operands[operand_index];
  if (memory.type != ZYDIS_OPERAND_TYPE_MEMORY) return false;
  memory.mem.base = operand_register;
  memory.mem.index = ZYDIS_REGISTER_NONE;
  memory.mem.scale = 0;
  memory.mem.displacement = 0;
  request.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_64;
  request.prefixes &=
      ~(ZYDIS_ATTRIB_HAS_SEGMENT_CS | ZYDIS_ATTRIB_HAS_SEGMENT_SS | ZYDIS_ATTRIB_HAS_SEGMENT_DS |
        ZYDIS_ATTRIB_HAS_SEGMENT_ES | ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS);
  code.emit(request);
  return code.ok();
}

bool build_into(CodeWriter& code, const ZydisDecodedInstruction& instruction,
                const ZydisDecodedOperand* operands, int operand_index, uint64_t xstate_mask,
                ZydisRegister area, ZydisRegister target) {
  const ZydisRegister rdi = ZYDIS_REGISTER_RDI;
  emit_host_save(code);
  if (xstate_mask) emit_xstate(code, /*restore=*/true);
  code.memory_only(ZYDIS_MNEMONIC_PUSH, rdi, AREA_FIELD(rflags), 8);
  code.plain(ZYDIS_MNEMONIC_POPFQ);
  if (area != rdi) code.move(area, rdi);
  code.load(target, area, AREA_FIELD(target));
  for (int number = 0; number < 16; ++number) {
    ZydisRegister reg = gpr64(number);
    if (reg == area || reg == target || number == kRsp) continue;
    code.load(reg, area, offset_of_gpr(number));
  }
  code.load(ZYDIS_REGISTER_RSP, area, offset_of_gpr(kRsp));
  if (!emit_redirected(code, instruction, operands, operand_index, target)) return false;
  code.store(area, offset_of_gpr(kRsp), ZYDIS_REGISTER_RSP);
  code.load(ZYDIS_REGISTER_RSP, area, AREA_FIELD(host_rsp));
  code.plain(ZYDIS_MNEMONIC_PUSHFQ);
  code.memory_only(ZYDIS_MNEMONIC_POP, area, AREA_FIELD(rflags), 8);
  emit_host_flags(code);
  for (int number = 0; number < 16; ++number) {
    ZydisRegister reg = gpr64(number);
    if (reg == area || reg == target || number == kRsp) continue;
    code.store(area, offset_of_gpr(number), reg);
  }
  if (area != rdi) code.move(rdi, area);
  if (xstate_mask) {
    emit_xstate(code, /*restore=*/false);
    code.plain(ZYDIS_MNEMONIC_FNINIT);
    if (cpu_state().xcr0 & kAvx) code.plain(ZYDIS_MNEMONIC_VZEROUPPER);
  }
  // The epilogue leaves host_rsp in RSP already; pop the callee-saved registers.
  code.memory_only(ZYDIS_MNEMONIC_LDMXCSR, rdi, AREA_FIELD(host_mxcsr), 4);
  code.memory_only(ZYDIS_MNEMONIC_FLDCW, rdi, AREA_FIELD(host_fcw), 2);
  for (int i = 5; i >= 0; --i)
    code.pop(kCalleeSaved[i]);
  const uint8_t return_zero[] = {0x31, 0xc0, 0xc3};  // xor eax, eax; ret
  code.raw(return_zero, sizeof(return_zero));
  return code.ok();
}

std::atomic<uintptr_t> g_abort_stub{0};

uintptr_t build_abort_stub() {
  uint8_t* memory = allocate_code(64);
  if (memory == nullptr) return 0;
  CodeWriter code(memory, 64);
  emit_host_restore(code);
  const uint8_t return_one[] = {0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3};  // mov eax, 1; ret
  code.raw(return_one, sizeof(return_one));
  return code.ok() ? reinterpret_cast<uintptr_t>(memory) : 0;
}

CpuState detect_cpu_state() {
  CpuState state;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(1, eax, ebx, ecx, edx);
  bool osxsave = (ecx & bit_OSXSAVE) != 0;
  if (osxsave) {
    uint32_t low, high;
    asm volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    state.xcr0 = (uint64_t{high} << 32) | low;
    state.xsave = true;
  } else {
    state.xcr0 = kX87 | kSse;
  }
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  state.avx512 = (ebx & bit_AVX512F) && (state.xcr0 & kAvx512) == kAvx512;
  return state;
}

constinit CpuState g_cpu_state;
std::atomic<bool> g_cpu_state_ready{false};

}  // namespace

const CpuState& cpu_state() {
  if (!g_cpu_state_ready.load(std::memory_order_acquire)) {
    g_cpu_state = detect_cpu_state();  // idempotent: every thread computes the same
    g_cpu_state_ready.store(true, std::memory_order_release);
  }
  return g_cpu_state;
}

bool has_avx512() {
  return cpu_state().avx512;
}

uint64_t xstate_components(const ZydisDecodedInstruction& instruction,
                           const ZydisDecodedOperand* operands) {
  uint64_t mask = 0;
  for (unsigned i = 0; i < instruction.operand_count; ++i) {
    if (operands[i].type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    ZydisRegister reg = operands[i].reg.value;
    switch (ZydisRegisterGetClass(reg)) {
      case ZYDIS_REGCLASS_X87:
      case ZYDIS_REGCLASS_MMX:
        mask |= kX87;
        break;
      case ZYDIS_REGCLASS_XMM:
        mask |= kSse;
        break;
      case ZYDIS_REGCLASS_YMM:
        mask |= kSse | kAvx;
        break;
      case ZYDIS_REGCLASS_ZMM:
      case ZYDIS_REGCLASS_MASK:
        mask |= kSse | kAvx | kAvx512;
        break;
      default:
        if (reg == ZYDIS_REGISTER_MXCSR) mask |= kSse;
        if (reg >= ZYDIS_REGISTER_X87CONTROL && reg <= ZYDIS_REGISTER_X87TAG) mask |= kX87;
        break;
    }
  }
  // VEX and EVEX encodings zero the upper parts of the registers they write.
  if (instruction.encoding == ZYDIS_INSTRUCTION_ENCODING_VEX && mask) mask |= kSse | kAvx;
  if (instruction.encoding == ZYDIS_INSTRUCTION_ENCODING_EVEX) mask |= kSse | kAvx | kAvx512;
  if (instruction.meta.category == ZYDIS_CATEGORY_X87_ALU ||
      instruction.meta.isa_set == ZYDIS_ISA_SET_X87) {
    mask |= kX87;
  }
  return mask & cpu_state().xcr0;
}

Stub build_stub(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
                int operand_index, uint64_t xstate_mask, const char** why) {
  if (g_abort_stub.load() == 0) {
    uintptr_t expected = 0;
    uintptr_t built = build_abort_stub();
    if (built != 0) g_abort_stub.compare_exchange_strong(expected, built);
  }
  if (xstate_mask && !cpu_state().xsave && (xstate_mask & ~(kX87 | kSse))) {
    *why = "needs AVX state, but signal frames hold FXSAVE state only";
    return nullptr;
  }
  // Two registers the instruction does not name: one for the area, one for the operand.
  uint32_t used = registers_used(instruction, operands);
  bool legacy_only = names_high_byte_register(instruction, operands);
  constexpr int kPreference[] = {11, 10, 9, 8, 15, 14, 13, 12, 7, 6, 3, 1, 2, 0, 5};
  int chosen[2] = {-1, -1};
  int found = 0;
  for (int number : kPreference) {
    if (found == 2) break;
    if (used & (1u << number)) continue;
    if (legacy_only && number >= 8) continue;
    chosen[found++] = number;
  }
  if (found < 2) {
    *why = "uses too many registers to be re-encoded";
    return nullptr;
  }
  constexpr size_t kMaxStub = 512;
  uint8_t buffer[kMaxStub];
  CodeWriter code(buffer, kMaxStub);
  if (!build_into(code, instruction, operands, operand_index, xstate_mask, gpr64(chosen[0]),
                  gpr64(chosen[1]))) {
    *why = "cannot be re-encoded with its operand redirected";
    return nullptr;
  }
  uint8_t* memory = allocate_code(code.size());
  if (memory == nullptr) {
    *why = "no memory for its stub";
    return nullptr;
  }
  std::memcpy(memory, buffer, code.size());
  return reinterpret_cast<Stub>(memory);
}

uintptr_t stub_abort_address() {
  return g_abort_stub.load();
}

}  // namespace mmiotrace::x86
