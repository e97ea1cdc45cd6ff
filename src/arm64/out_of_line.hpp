// mmiotrace: signal-safe
// Out-of-line execution of AArch64 loads and stores the emulator does not carry out: which of
// them can run as they are with their base register pointed at the traced memory's second
// mapping, and which bytes they may touch. An instruction qualifies when every byte it can touch
// lies in one contiguous range computable from its registers and the vector length, its base is
// a general-purpose register, and it does not write that register:
//   - SVE contiguous loads and stores with a scalar base: LD1*/LDFF1*/LDNF1*/LDNT1*, LD2-LD4,
//     LD1RQ*/LD1RO*, LD1R* (one element, broadcast), LDR/STR of a Z or P register,
//     ST1*/STNT1*, ST2-ST4;
//   - LD64B, ST64B, ST64BV, ST64BV0 (64 bytes at the base).
// SVE gathers and scatters (vector offsets or bases), memory-tag instructions, pointer-
// authenticated loads (the PAC would not match the second mapping's address), CPY/SET (their
// registers are the copy's state) and the rest stay unsupported. Pure: no ucontext, no signals,
// no allocation; compiled for x86-64 (unit tests) as for AArch64.
#pragma once

#include <cstdint>

namespace mmiotrace::arm64 {

// The range an out-of-line instruction may touch: `bytes` from base + offset, where `bytes` is
// vector_bytes * vector_multiplier / vector_divisor + fixed_bytes (vector_bytes: the SVE vector
// length in bytes), and offset is either immediate * bytes (the "#imm, MUL VL" forms and LD1R's
// element index, where bytes is one element) or X[index_register] << index_shift.
struct OutOfLineForm {
  uint8_t base_register = 0;   // Xn (never SP: those forms are not taken)
  uint8_t index_register = 0;  // Xm when has_index_register
  bool has_index_register = false;
  uint8_t index_shift = 0;
  int16_t immediate = 0;          // in units of `bytes`
  uint8_t vector_multiplier = 0;  // 0: the size does not depend on the vector length
  uint8_t vector_divisor = 1;
  uint8_t fixed_bytes = 0;
  bool writes_memory = false;  // a store (for the trace's message only)
  // Its class, plural, for the trace: "SVE contiguous loads (LD1*)".
  const char* name = "";
};

// Whether the A64 word can be executed out of line, and its form. False for everything else,
// including every word the emulator carries out itself.
bool out_of_line_form(uint32_t word, OutOfLineForm& out);

// The range the instruction may touch, with the registers X0-X30 before it ran (top byte
// included: the caller strips it) and the SVE vector length in bytes (ignored by forms that do
// not depend on it). False when the vector length is needed and unknown (0).
struct Footprint {
  uint64_t address = 0;
  uint64_t bytes = 0;
};
bool out_of_line_footprint(const OutOfLineForm& form, const uint64_t registers[31],
                           unsigned vector_bytes, Footprint& out);

}  // namespace mmiotrace::arm64
