// mmiotrace: signal-safe
// The AArch64 decoder: what the tracer needs to know of one A64 instruction word that may have
// touched traced memory (which load/store class it is, how wide each access is, which registers
// it reads and writes, how it forms its address), and decoding it. Table-driven over the
// encoding groups of the Arm ARM's "Loads and Stores" section; no allocation, no state, no
// system calls: callable from a signal handler on any thread, and compiled for x86-64 (its unit
// tests) as for AArch64.
//
// Register numbers are the encoding's. What 31 means is fixed per field, as in the A64
// instruction set's load/store classes: as the base `rn` it is SP; as `rt`, `rt2`, `rs` and the
// offset register `rm` of a general-purpose operand it is XZR/WZR. `rt`/`rt2` name SIMD&FP
// registers V0-V31 when `vector` is set.
#pragma once

#include <cstdint>

namespace mmiotrace::arm64 {

inline constexpr unsigned kStackPointer = 31;  // `rn` == 31: SP
inline constexpr unsigned kZeroRegister = 31;  // `rt`, `rt2`, `rs`, `rm` == 31: XZR/WZR

enum class DecodeStatus : uint8_t {
  Access,       // a load or store this library carries out: the Access is filled
  LiteralLoad,  // LDR/LDRSW/LDR (SIMD&FP) literal: PC-relative, never reaches a mapping
  Unsupported,  // a load/store the emulator does not carry out: SVE (its prefetches too),
                // memory tags (MTE), pointer-authenticated loads (LDRAA/LDRAB), LD64B/ST64B,
                // memory copy and set (CPY*, SET*), SIMD&FP RCpc (STLUR/LDAPUR of B-Q)
  NotAccess,    // any other word: no memory access (prefetches, cache maintenance other than
                // DC ZVA, other instructions, unallocated encodings)
};

enum class Operation : uint8_t {
  Load,                // LDR*, LDUR*, LDTR*, LDAR*, LDAPR*, LDAPUR*, LDLAR*, LDR (SIMD&FP)
  Store,               // STR*, STUR*, STTR*, STLR*, STLUR*, STLLR*, STR (SIMD&FP)
  LoadPair,            // LDP, LDPSW, LDNP (general or SIMD&FP)
  StorePair,           // STP, STNP
  LoadExclusive,       // LDXR*, LDAXR*
  StoreExclusive,      // STXR*, STLXR*: status into `rs`
  LoadExclusivePair,   // LDXP, LDAXP
  StoreExclusivePair,  // STXP, STLXP: status into `rs`
  AtomicOp,            // LD<op>[A][L][B|H] (and the ST<op> aliases, `rt` == 31): see `atomic`
  Swap,                // SWP[A][L][B|H]
  CompareSwap,         // CAS[A][L][B|H]: compare `rs`, store `rt`, old value into `rs`
  CompareSwapPair,     // CASP[A][L]: compare `rs`,`rs`+1, store `rt`,`rt`+1, old into `rs`,`rs`+1
  LoadMultiple,        // LD1-LD4 (multiple structures)
  StoreMultiple,       // ST1-ST4 (multiple structures)
  LoadSingle,          // LD1-LD4 (single structure): one lane of each register
  StoreSingle,         // ST1-ST4 (single structure)
  LoadReplicate,       // LD1R-LD4R: one structure into every lane
  ZeroBlock,           // DC ZVA: zeroes the block (DCZID_EL0) that holds the address in `rt`
};

enum class AtomicOpKind : uint8_t {
  Add,
  Clear,
  Xor,
  Set,
  SignedMax,
  SignedMin,
  UnsignedMax,
  UnsignedMin
};

enum class AddressMode : uint8_t {
  Offset,             // [rn, #imm] (imm 0 for the forms without one)
  PreIndex,           // [rn, #imm]!: address rn + imm, then rn = address
  PostIndex,          // [rn], #imm: address rn, then rn += imm
  RegisterOffset,     // [rn, rm{, extend #shift}]
  PostIndexRegister,  // [rn], xm (SIMD&FP structures): address rn, then rn += xm
};

// How the offset register of RegisterOffset is extended before the shift.
enum class Extend : uint8_t { Uxtw = 2, Lsl = 3, Sxtw = 6, Sxtx = 7 };

struct Access {
  Operation operation = Operation::Load;
  AddressMode mode = AddressMode::Offset;
  AtomicOpKind atomic = AtomicOpKind::Add;  // AtomicOp only
  Extend extend = Extend::Lsl;              // RegisterOffset only
  uint8_t shift = 0;                        // RegisterOffset only: left shift of the offset
  uint8_t size = 0;  // bytes of one register's (one element's, for structures) access
  uint8_t rt = 0, rt2 = 0, rn = 0, rm = 0, rs = 0;
  bool vector = false;         // rt/rt2 are SIMD&FP registers (all structure operations)
  bool sign_extend = false;    // loads: the value is sign-extended into the register
  uint8_t register_bytes = 0;  // general loads: 4 (Wt, upper half zeroed) or 8 (Xt)
  bool acquire = false;        // load-acquire semantics (LDAR, LDAPR, LDAXR, ...A...)
  bool release = false;        // store-release semantics (STLR, STLXR, ...L...)
  bool non_temporal = false;   // LDNP/STNP
  bool unprivileged = false;   // LDTR/STTR (at EL0 the same as LDR/STR)
  bool writeback = false;      // PreIndex, PostIndex, PostIndexRegister
  int64_t imm = 0;             // byte offset (scaled), or the post-index increment
  // SIMD&FP structures: `registers` consecutive registers from `rt` (modulo 32), each of
  // `vector_bytes` (8 or 16) holding elements of `size` bytes; LoadSingle/StoreSingle touch lane
  // `lane` of each; `structure_elements` is the n of LDn/STn.
  uint8_t registers = 1;
  uint8_t vector_bytes = 0;
  uint8_t structure_elements = 1;
  uint8_t lane = 0;
  uint16_t total_bytes = 0;  // bytes of memory the instruction accesses (DC ZVA: 0, see emulator)
};

// Decodes one little-endian A64 instruction word. `out` is written only for Access.
DecodeStatus decode(uint32_t word, Access& out);

// The SIMD&FP registers an access names, bit n for Vn (0 for a general-register access): `rt`,
// `rt2` of a pair, or the `registers` consecutive ones from `rt`, modulo 32, of a structure.
inline uint32_t vector_registers_of(const Access& access) {
  if (!access.vector) return 0;
  uint32_t registers = 0;
  for (unsigned i = 0; i < access.registers; ++i)
    registers |= uint32_t{1} << ((access.rt + i) % 32);
  if (access.operation == Operation::LoadPair || access.operation == Operation::StorePair) {
    registers |= uint32_t{1} << (access.rt2 % 32);
  }
  return registers;
}

// Whether the operation reads memory / writes memory.
inline bool reads_memory(Operation operation) {
  switch (operation) {
    case Operation::Store:
    case Operation::StorePair:
    case Operation::StoreExclusive:
    case Operation::StoreExclusivePair:
    case Operation::StoreMultiple:
    case Operation::StoreSingle:
    case Operation::ZeroBlock:
      return false;
    default:
      return true;
  }
}
bool writes_memory(Operation operation);

}  // namespace mmiotrace::arm64
