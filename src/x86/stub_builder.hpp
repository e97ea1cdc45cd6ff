// mmiotrace: signal-safe
// Generating the code that runs one instruction on the emulator's terms: a re-encoded copy
// whose memory operand is [target], between a prologue that loads the interrupted registers,
// flags and (when needed) vector state from the EmulationArea and an epilogue that saves them
// back. Called from signal handlers: no allocation but the code arena.
#pragma once

#include <cstdint>

#include "x86/decoder_internal.hpp"

namespace mmiotrace::x86 {

// The CPU's XSAVE features in use (XCR0) and whether signal frames use XSAVE at all. Computed
// once, first at engine start. Any context.
struct CpuState {
  bool xsave = false;  // frames hold XSAVE state; otherwise FXSAVE only
  uint64_t xcr0 = 0;
  bool avx512 = false;
};
const CpuState& cpu_state();

// XSAVE components an instruction's operands need (0 when it touches no x87/SSE/AVX state).
uint64_t xstate_components(const ZydisDecodedInstruction& instruction,
                           const ZydisDecodedOperand* operands);

// A stub for `instruction` with memory operand `operand_index` redirected to [target]. Returns
// null (with `why` set) when it cannot be built. The stub is called as
// `int stub(EmulationArea*)` and returns 0.
using Stub = int (*)(void* area);
Stub build_stub(const ZydisDecodedInstruction& instruction, const ZydisDecodedOperand* operands,
                int operand_index, uint64_t xstate_mask, const char** why);

// Where a fault inside a stub resumes (with RDI = the area): it unwinds to the stub's caller,
// which sees 1.
uintptr_t stub_abort_address();

}  // namespace mmiotrace::x86
