// mmiotrace: signal-safe
// Out-of-line execution of AArch64 loads and stores the emulator does not carry out: which of
// them can run as they are with their base register pointed at the traced memory's second
// mapping, which bytes they may touch, and, once one has run, the accesses it made (from the
// registers it left), for the trace. An instruction qualifies when every byte it can touch
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

// How the accesses of an out-of-line instruction are laid out, for the records made once it ran.
enum class OutOfLineLayout : uint8_t {
  Contiguous,      // LD1*/LDFF1*/LDNF1*/ST1*: element i of Zt (esize bytes) <-> memory_bytes at
                   // address + i * memory_bytes, when Pg's element i is active (and, for the
                   // first-fault and non-fault loads, FFR's)
  Structures,      // LDNT1/LD2-LD4/STNT1/ST2-ST4: element i of Zt+r <-> address +
                   // (i * registers + r) * memory_bytes, element-major
  Replicated,      // LD1RQ*/LD1RO*: element i of the first fixed_bytes of Zt, when active
  Broadcast,       // LD1R*: one element, when any element of Pg is active
  WholeVector,     // LDR/STR (vector): the vector_bytes of Zt
  WholePredicate,  // LDR/STR (predicate): the vector_bytes / 8 of Pt
  SixtyFourBytes,  // LD64B/ST64B/ST64BV/ST64BV0: Xt to Xt+7
};

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
  bool writes_memory = false;  // a store; otherwise a load
  OutOfLineLayout layout = OutOfLineLayout::Contiguous;
  uint8_t data_register = 0;        // Zt, Pt or Xt
  uint8_t governing_predicate = 0;  // Pg (SVE forms but LDR/STR)
  uint8_t memory_bytes = 0;         // of one element in memory (SVE forms but LDR/STR)
  uint8_t element_bytes = 0;        // of one element in its register
  uint8_t registers = 1;            // Structures: n
  bool first_fault = false;         // LDFF1*/LDNF1*: FFR says which elements were loaded
  // Its class, plural, for the trace: "SVE contiguous loads (LD1*)".
  const char* name = "";
};

// Whether the A64 word can be executed out of line, and its form. False for everything else,
// including every word the emulator carries out itself.
bool out_of_line_form(uint32_t word, OutOfLineForm& out);

// The range the instruction may touch, with the registers X0-X30 before it ran (top byte
// included: the caller strips it), the SVE vector length in bytes (ignored by forms that do not
// depend on it) and, when known, the predicate registers P0-P15 (vector_bytes / 8 each): the
// range then runs from the first active element to the last, as inactive ones are not accessed
// (a predicated copy's tail at the end of a mapping touches nothing past it). False when the
// vector length is needed and unknown (0).
struct Footprint {
  uint64_t address = 0;  // the range
  uint64_t bytes = 0;
  uint64_t base = 0;  // where element 0 is (out_of_line_accesses' `address`)
};
bool out_of_line_footprint(const OutOfLineForm& form, const uint64_t registers[31],
                           unsigned vector_bytes, const uint8_t* predicates, Footprint& out);

// The registers of the thread once the instruction has run (from its signal frame); null or 0
// where the frame has none.
struct OutOfLineRegisters {
  const uint64_t* x = nullptr;   // X0-X30
  const uint8_t* z = nullptr;    // Z0-Z31, vector_bytes each
  const uint8_t* p = nullptr;    // P0-P15, vector_bytes / 8 each
  const uint8_t* ffr = nullptr;  // vector_bytes / 8
  unsigned vector_bytes = 0;
};

// Where the accesses go, one by one, each of 1, 2, 4 or 8 bytes (longer runs are cut into those).
class OutOfLineAccessSink {
 public:
  virtual void access(bool write, uint64_t address, unsigned width, const uint8_t* value) = 0;

 protected:
  ~OutOfLineAccessSink() = default;
};

// The accesses the instruction made, from `address` (its footprint's), in the order the
// architecture gives its elements, with the bytes each moved. False (and nothing given) when
// the registers needed are missing.
bool out_of_line_accesses(const OutOfLineForm& form, uint64_t address,
                          const OutOfLineRegisters& registers, OutOfLineAccessSink& sink);

}  // namespace mmiotrace::arm64
