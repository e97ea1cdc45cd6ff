// mmiotrace: signal-safe
// Zydis-level decoding shared by the x86 layer's own files (decoder, emulation planning, stub
// building). Nothing outside src/x86 includes this header.
#pragma once

#include <Zydis/Zydis.h>

#include "x86/decoder.hpp"

namespace mmiotrace::x86 {

// decode(), also giving Zydis's own view of the instruction (operands: ZYDIS_MAX_OPERAND_COUNT).
DecodeResult decode_with_zydis(const uint8_t* bytes, size_t size, uintptr_t pc, Instruction* out,
                               ZydisDecodedInstruction* zydis_instruction,
                               ZydisDecodedOperand* zydis_operands);

bool is_gpr(ZydisRegister reg);
GprRef gpr_ref(ZydisRegister reg);

// A 64-bit general-purpose register by its encoding number (0 RAX ... 15 R15).
inline ZydisRegister gpr64(int number) {
  return static_cast<ZydisRegister>(ZYDIS_REGISTER_RAX + number);
}
// The encoding number of the 64-bit register enclosing `reg`, or -1 if it is not a GPR.
inline int gpr_number(ZydisRegister reg) {
  if (!is_gpr(reg)) return -1;
  return ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg) - ZYDIS_REGISTER_RAX;
}

}  // namespace mmiotrace::x86
