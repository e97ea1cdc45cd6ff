// mmiotrace: signal-safe
// The decoder: one decoded x86-64 instruction as the tracer sees it (its memory operands, and
// where the value each access moves can be found), and decoding it. The only types the layers
// above use; Zydis stays inside x86/ and codecache/.
#pragma once

#include <ucontext.h>
#include <cstddef>
#include <cstdint>

#include "core/operand_memory.hpp"

namespace mmiotrace::x86 {

inline constexpr size_t kMaxInstructionLength = 15;
inline constexpr size_t kMaxAccessWidth = 64;  // bytes: a ZMM register or MOVDIR64B

using mmiotrace::AccessKind;  // core/operand_memory.hpp
using mmiotrace::reads;
using mmiotrace::writes;

// A general-purpose register, or the part of one an instruction names (EAX, AX, AL, AH...).
struct GprRef {
  int8_t greg = -1;   // index into mcontext_t::gregs (REG_RAX...), or -1 for none
  uint8_t shift = 0;  // bit offset of the part: 8 for AH, CH, DH, BH
  uint8_t size = 0;   // bytes
  constexpr bool valid() const { return greg >= 0; }
};

enum class Segment : uint8_t { None, Fs, Gs };

// How a memory operand's address is formed: segment:[base + index * scale + displacement].
struct AddressExpression {
  GprRef base;
  GprRef index;
  uint8_t scale = 0;
  bool rip_relative = false;
  Segment segment = Segment::None;
  uint8_t address_size = 8;  // bytes: 4 with an address-size prefix
  int64_t displacement = 0;
};

struct MemoryOperand {
  AddressExpression address;
  AccessKind kind = AccessKind::None;
  uint16_t width = 0;   // bytes
  bool hidden = false;  // implicit: [RDI] of STOS, the stack slot of PUSH...
};

// Where the value of a MOV-family access is found in the register state: for a store, before the
// instruction runs; for a load, after. This is what the kernel's pf_in.c knows, and a little more.
enum class ValueRule : uint8_t {
  Unknown,        // not a MOV-family instruction: the value cannot be taken from registers
  FromRegister,   // `value_register`, the low `width` bytes, byte-swapped for MOVBE
  FromImmediate,  // `immediate`, the low `width` bytes
};

struct Instruction {
  uintptr_t pc = 0;
  uint8_t length = 0;
  uint8_t bytes[kMaxInstructionLength] = {};
  uint16_t mnemonic = 0;  // Zydis mnemonic, for diagnostics and the emulator
  bool repeated = false;  // REP/REPE/REPNE string instruction

  uint8_t memory_operand_count = 0;
  MemoryOperand memory[2];

  ValueRule value_rule = ValueRule::Unknown;
  GprRef value_register;
  bool value_byte_swapped = false;
  uint64_t immediate = 0;
};

enum class DecodeResult { Ok, Invalid, Unreadable };

// Decodes the instruction in `bytes` as if it were at `pc`. Pure; safe in a signal handler.
DecodeResult decode(const uint8_t* bytes, size_t size, uintptr_t pc, Instruction* out);

// Reads up to kMaxInstructionLength bytes of code at `pc` in this process, without faulting even
// at the end of a mapping. Returns how many it read.
size_t read_code(uintptr_t pc, uint8_t* code);

// Reads the code at `pc` and decodes it.
DecodeResult decode_at(uintptr_t pc, Instruction* out);

// The operand's address with the register state in `context` (before the instruction runs).
uintptr_t effective_address(const Instruction& instruction, const MemoryOperand& operand,
                            const ucontext_t& context);

uint64_t read_gpr(const ucontext_t& context, GprRef reg);

// The value of a MOV-family access, as `width` little-endian bytes in memory order, taken from
// `context`: for a write, the state before the instruction; for a read, the state after it.
// Returns false when the instruction's value rule is Unknown.
bool value_from_registers(const Instruction& instruction, const ucontext_t& context,
                          uint8_t* value_out);

}  // namespace mmiotrace::x86
