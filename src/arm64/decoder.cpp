// mmiotrace: signal-safe
// The AArch64 decoder: the load/store encoding groups of A64 (Arm ARM, "Loads and Stores"), each
// decoded by its own function from the word's fields. Bit positions are the Arm ARM's.
#include "arm64/decoder.hpp"

#include "arm64/instruction_fields.hpp"

namespace mmiotrace::arm64 {
namespace {

constexpr uint8_t log2_of(unsigned bytes) {
  uint8_t log = 0;
  while ((1u << log) < bytes)
    ++log;
  return log;
}

constexpr uint8_t general_register_bytes(unsigned size_field) {
  return size_field == 3 ? 8 : 4;
}

// The operands every encoding has in the same place.
Access with_registers(uint32_t word) {
  Access access;
  access.rt = static_cast<uint8_t>(field(word, 4, 0));
  access.rn = static_cast<uint8_t>(field(word, 9, 5));
  return access;
}

// The LDR/STR family's (size, V, opc) columns: a single register of either file. PRFM and the
// unallocated combinations are no access.
DecodeStatus single_register(uint32_t size_field, bool vector, uint32_t opc, Access& access) {
  access.vector = vector;
  if (vector) {
    access.register_bytes = 16;
    if (opc <= 1) {
      access.size = static_cast<uint8_t>(1u << size_field);
    } else if (size_field == 0) {
      access.size = 16;
    } else {
      return DecodeStatus::NotAccess;
    }
    access.operation = (opc & 1) != 0 ? Operation::Load : Operation::Store;
    access.total_bytes = access.size;
    return DecodeStatus::Access;
  }
  access.size = static_cast<uint8_t>(1u << size_field);
  access.total_bytes = access.size;
  switch (opc) {
    case 0:
      access.operation = Operation::Store;
      access.register_bytes = general_register_bytes(size_field);
      return DecodeStatus::Access;
    case 1:
      access.operation = Operation::Load;
      access.register_bytes = general_register_bytes(size_field);
      return DecodeStatus::Access;
    case 2:  // LDRSB/LDRSH/LDRSW into Xt; size 3 is PRFM
      if (size_field == 3) return DecodeStatus::NotAccess;
      access.operation = Operation::Load;
      access.sign_extend = true;
      access.register_bytes = 8;
      return DecodeStatus::Access;
    default:  // LDRSB/LDRSH into Wt
      if (size_field >= 2) return DecodeStatus::NotAccess;
      access.operation = Operation::Load;
      access.sign_extend = true;
      access.register_bytes = 4;
      return DecodeStatus::Access;
  }
}

// size 111 V 01 opc imm12 Rn Rt: [Xn|SP, #imm12 * size]
DecodeStatus unsigned_offset(uint32_t word, Access& out) {
  Access access = with_registers(word);
  const DecodeStatus status =
      single_register(field(word, 31, 30), bit(word, 26), field(word, 23, 22), access);
  if (status != DecodeStatus::Access) return status;
  access.mode = AddressMode::Offset;
  access.imm = static_cast<int64_t>(field(word, 21, 10)) << log2_of(access.size);
  out = access;
  return status;
}

// size 111 V 00 opc 0 imm9 op4 Rn Rt: LDUR (00), post-index (01), LDTR (10), pre-index (11).
DecodeStatus immediate_9(uint32_t word, Access& out) {
  Access access = with_registers(word);
  const uint32_t op4 = field(word, 11, 10);
  const bool vector = bit(word, 26);
  if (op4 == 2 && vector) return DecodeStatus::NotAccess;
  const DecodeStatus status =
      single_register(field(word, 31, 30), vector, field(word, 23, 22), access);
  if (status != DecodeStatus::Access) return status;
  access.imm = sign_extended(field(word, 20, 12), 9);
  switch (op4) {
    case 0:
      access.mode = AddressMode::Offset;
      break;
    case 1:
      access.mode = AddressMode::PostIndex;
      break;
    case 2:
      access.mode = AddressMode::Offset;
      access.unprivileged = true;
      break;
    default:
      access.mode = AddressMode::PreIndex;
      break;
  }
  access.writeback = op4 == 1 || op4 == 3;
  out = access;
  return status;
}

// size 111 V 00 opc 1 Rm option S 10 Rn Rt: [Xn|SP, Rm{, extend #shift}]
DecodeStatus register_offset(uint32_t word, Access& out) {
  const uint32_t option = field(word, 15, 13);
  if ((option & 2) == 0) return DecodeStatus::NotAccess;
  Access access = with_registers(word);
  const DecodeStatus status =
      single_register(field(word, 31, 30), bit(word, 26), field(word, 23, 22), access);
  if (status != DecodeStatus::Access) return status;
  access.mode = AddressMode::RegisterOffset;
  access.rm = static_cast<uint8_t>(field(word, 20, 16));
  access.extend = static_cast<Extend>(option);
  access.shift = bit(word, 12) ? log2_of(access.size) : 0;
  out = access;
  return status;
}

// size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt: LSE atomics, SWP and LDAPR.
DecodeStatus atomic_memory(uint32_t word, Access& out) {
  if (bit(word, 26)) return DecodeStatus::NotAccess;
  Access access = with_registers(word);
  const uint32_t size_field = field(word, 31, 30);
  const bool o3 = bit(word, 15);
  const uint32_t opc = field(word, 14, 12);
  access.rs = static_cast<uint8_t>(field(word, 20, 16));
  access.acquire = bit(word, 23);
  access.release = bit(word, 22);
  access.size = static_cast<uint8_t>(1u << size_field);
  access.total_bytes = access.size;
  access.register_bytes = general_register_bytes(size_field);
  if (!o3) {
    access.operation = Operation::AtomicOp;
    access.atomic = static_cast<AtomicOpKind>(opc);
  } else if (opc == 0) {
    access.operation = Operation::Swap;
  } else if (opc == 4 && access.acquire && !access.release && access.rs == 31) {
    access.operation = Operation::Load;  // LDAPR: load-acquire, RCpc
    access.rs = 0;
  } else if (size_field == 3 && !access.acquire && !access.release &&
             (opc == 1 || opc == 2 || opc == 3 || opc == 5)) {
    return DecodeStatus::Unsupported;  // ST64B, ST64BV0, ST64BV, LD64B
  } else {
    return DecodeStatus::NotAccess;
  }
  out = access;
  return DecodeStatus::Access;
}

// size 001000 o2 L o1 Rs o0 Rt2 Rn Rt: exclusives, load-acquire/store-release, CAS, CASP.
// The fields A64 wants all ones where an instruction has no Rs or Rt2 are not checked: the
// hardware may run such a word as the instruction (CONSTRAINED UNPREDICTABLE), as binutils
// reads it.
DecodeStatus exclusive_or_ordered(uint32_t word, Access& out) {
  Access access = with_registers(word);
  const uint32_t size_field = field(word, 31, 30);
  const bool o2 = bit(word, 23);
  const bool load = bit(word, 22);
  const bool o1 = bit(word, 21);
  const bool o0 = bit(word, 15);
  const uint32_t rs = field(word, 20, 16);
  const uint32_t rt2 = field(word, 14, 10);
  access.size = static_cast<uint8_t>(1u << size_field);
  access.total_bytes = access.size;
  access.register_bytes = general_register_bytes(size_field);
  if (!o2 && !o1) {  // LDXR, LDAXR, STXR, STLXR
    access.operation = load ? Operation::LoadExclusive : Operation::StoreExclusive;
    access.rs = load ? 0 : static_cast<uint8_t>(rs);
    (load ? access.acquire : access.release) = o0;
  } else if (!o2 && size_field >= 2) {  // LDXP, LDAXP, STXP, STLXP
    access.operation = load ? Operation::LoadExclusivePair : Operation::StoreExclusivePair;
    access.size = access.register_bytes;
    access.total_bytes = static_cast<uint16_t>(2 * access.size);
    access.rt2 = static_cast<uint8_t>(rt2);
    access.rs = load ? 0 : static_cast<uint8_t>(rs);
    (load ? access.acquire : access.release) = o0;
  } else if (!o2) {  // CASP, CASPA, CASPL, CASPAL: size 0x selects W or X pairs
    if (rt2 != 31 || (rs & 1) != 0 || (access.rt & 1) != 0) return DecodeStatus::NotAccess;
    access.operation = Operation::CompareSwapPair;
    access.register_bytes = bit(word, 30) ? 8 : 4;
    access.size = access.register_bytes;
    access.total_bytes = static_cast<uint16_t>(2 * access.size);
    access.rs = static_cast<uint8_t>(rs);
    access.acquire = load;
    access.release = o0;
  } else if (!o1) {  // LDAR, LDLAR, STLR, STLLR
    access.operation = load ? Operation::Load : Operation::Store;
    (load ? access.acquire : access.release) = true;
  } else {  // CAS, CASA, CASL, CASAL (B, H, W, X)
    if (rt2 != 31) return DecodeStatus::NotAccess;
    access.operation = Operation::CompareSwap;
    access.rs = static_cast<uint8_t>(rs);
    access.acquire = load;
    access.release = o0;
  }
  out = access;
  return DecodeStatus::Access;
}

// opc 011 V 00 imm19 Rt: PC-relative loads. PRFM (literal) makes no access.
DecodeStatus literal(uint32_t word) {
  const uint32_t opc = field(word, 31, 30);
  if (opc == 3) return DecodeStatus::NotAccess;
  return DecodeStatus::LiteralLoad;
}

// size 011001 opc 0 imm9 00 Rn Rt: STLUR, LDAPUR, LDAPURS (RCpc, unscaled offset).
DecodeStatus ordered_unscaled(uint32_t word, Access& out) {
  if (bit(word, 26)) return DecodeStatus::Unsupported;  // SIMD&FP STLUR/LDAPUR (RCpc3)
  Access access = with_registers(word);
  const uint32_t size_field = field(word, 31, 30);
  const uint32_t opc = field(word, 23, 22);
  access.size = static_cast<uint8_t>(1u << size_field);
  access.total_bytes = access.size;
  access.imm = sign_extended(field(word, 20, 12), 9);
  switch (opc) {
    case 0:
      access.operation = Operation::Store;
      access.release = true;
      access.register_bytes = general_register_bytes(size_field);
      break;
    case 1:
      access.operation = Operation::Load;
      access.acquire = true;
      access.register_bytes = general_register_bytes(size_field);
      break;
    case 2:
      if (size_field == 3) return DecodeStatus::NotAccess;
      access.operation = Operation::Load;
      access.acquire = true;
      access.sign_extend = true;
      access.register_bytes = 8;
      break;
    default:
      if (size_field >= 2) return DecodeStatus::NotAccess;
      access.operation = Operation::Load;
      access.acquire = true;
      access.sign_extend = true;
      access.register_bytes = 4;
      break;
  }
  out = access;
  return DecodeStatus::Access;
}

// opc 101 V op2 L imm7 Rt2 Rn Rt: LDNP/STNP (op2 00), post-index (01), offset (10), pre-index.
DecodeStatus register_pair(uint32_t word, Access& out) {
  Access access = with_registers(word);
  const uint32_t opc = field(word, 31, 30);
  const bool vector = bit(word, 26);
  const uint32_t op2 = field(word, 24, 23);
  const bool load = bit(word, 22);
  if (opc == 3) return DecodeStatus::NotAccess;
  access.vector = vector;
  if (vector) {
    access.size = static_cast<uint8_t>(4u << opc);
    access.register_bytes = 16;
  } else if (opc == 1) {
    if (!load) return op2 == 0 ? DecodeStatus::NotAccess : DecodeStatus::Unsupported;  // STGP
    if (op2 == 0) return DecodeStatus::NotAccess;
    access.size = 4;  // LDPSW
    access.sign_extend = true;
    access.register_bytes = 8;
  } else {
    access.size = opc == 0 ? 4 : 8;
    access.register_bytes = access.size;
  }
  access.operation = load ? Operation::LoadPair : Operation::StorePair;
  access.rt2 = static_cast<uint8_t>(field(word, 14, 10));
  access.total_bytes = static_cast<uint16_t>(2 * access.size);
  access.imm = sign_extended(field(word, 21, 15), 7) * access.size;
  access.non_temporal = op2 == 0;
  access.mode =
      op2 == 1 ? AddressMode::PostIndex : (op2 == 3 ? AddressMode::PreIndex : AddressMode::Offset);
  access.writeback = op2 == 1 || op2 == 3;
  out = access;
  return DecodeStatus::Access;
}

// The post-index forms of the structure loads and stores: Rm 31 is the immediate form, whose
// increment is the bytes transferred.
void structure_post_index(uint32_t word, Access& access) {
  const uint32_t rm = field(word, 20, 16);
  access.writeback = true;
  if (rm == 31) {
    access.mode = AddressMode::PostIndex;
    access.imm = access.total_bytes;
  } else {
    access.mode = AddressMode::PostIndexRegister;
    access.rm = static_cast<uint8_t>(rm);
  }
}

// 0 Q 0011001 L 0 Rm opcode size Rn Rt (post-index), 0 Q 0011000 L 000000 opcode size Rn Rt.
DecodeStatus multiple_structures(uint32_t word, Access& out) {
  const bool post_index = bit(word, 23);
  if (bit(word, 21) || (!post_index && field(word, 20, 16) != 0)) return DecodeStatus::NotAccess;
  uint8_t registers = 0;
  uint8_t elements = 0;
  switch (field(word, 15, 12)) {
    case 0b0000:
      registers = 4, elements = 4;
      break;
    case 0b0010:
      registers = 4, elements = 1;
      break;
    case 0b0100:
      registers = 3, elements = 3;
      break;
    case 0b0110:
      registers = 3, elements = 1;
      break;
    case 0b0111:
      registers = 1, elements = 1;
      break;
    case 0b1000:
      registers = 2, elements = 2;
      break;
    case 0b1010:
      registers = 2, elements = 1;
      break;
    default:
      return DecodeStatus::NotAccess;
  }
  const uint32_t size_field = field(word, 11, 10);
  const bool q = bit(word, 30);
  if (size_field == 3 && !q && elements > 1) return DecodeStatus::NotAccess;
  Access access = with_registers(word);
  access.operation = bit(word, 22) ? Operation::LoadMultiple : Operation::StoreMultiple;
  access.vector = true;
  access.size = static_cast<uint8_t>(1u << size_field);
  access.registers = registers;
  access.structure_elements = elements;
  access.vector_bytes = q ? 16 : 8;
  access.register_bytes = 16;
  access.total_bytes = static_cast<uint16_t>(registers * access.vector_bytes);
  if (post_index) structure_post_index(word, access);
  out = access;
  return DecodeStatus::Access;
}

// 0 Q 0011011 L R Rm opcode S size Rn Rt (post-index), 0 Q 0011010 L R 00000 opcode S size ...
DecodeStatus single_structure(uint32_t word, Access& out) {
  const bool post_index = bit(word, 23);
  if (!post_index && field(word, 20, 16) != 0) return DecodeStatus::NotAccess;
  const uint32_t opcode = field(word, 15, 13);
  const bool s = bit(word, 12);
  const uint32_t size_field = field(word, 11, 10);
  const bool q = bit(word, 30);
  const bool load = bit(word, 22);
  Access access = with_registers(word);
  access.vector = true;
  access.register_bytes = 16;
  access.vector_bytes = 16;
  access.structure_elements = static_cast<uint8_t>((((opcode & 1) << 1) | field(word, 21, 21)) + 1);
  access.registers = access.structure_elements;
  access.operation = load ? Operation::LoadSingle : Operation::StoreSingle;
  switch (opcode >> 1) {
    case 0:
      access.size = 1;
      access.lane = static_cast<uint8_t>((q << 3) | (s << 2) | size_field);
      break;
    case 1:
      if ((size_field & 1) != 0) return DecodeStatus::NotAccess;
      access.size = 2;
      access.lane = static_cast<uint8_t>((q << 2) | (s << 1) | (size_field >> 1));
      break;
    case 2:
      if ((size_field & 2) != 0) return DecodeStatus::NotAccess;
      if (size_field == 0) {
        access.size = 4;
        access.lane = static_cast<uint8_t>((q << 1) | s);
      } else {
        if (s) return DecodeStatus::NotAccess;
        access.size = 8;
        access.lane = q;
      }
      break;
    default:  // LD1R-LD4R
      if (!load || s) return DecodeStatus::NotAccess;
      access.operation = Operation::LoadReplicate;
      access.size = static_cast<uint8_t>(1u << size_field);
      access.vector_bytes = q ? 16 : 8;
      break;
  }
  access.total_bytes = static_cast<uint16_t>(access.structure_elements * access.size);
  if (post_index) structure_post_index(word, access);
  out = access;
  return DecodeStatus::Access;
}

// The "Loads and Stores" group: bit 27 set, bit 25 clear. op0 = bits 31:28, op1 = bit 26,
// op2 = bits 24:23, op3 = bits 21:16, op4 = bits 11:10.
DecodeStatus load_store(uint32_t word, Access& out) {
  const uint32_t op0 = field(word, 31, 28);
  const bool op1 = bit(word, 26);
  const uint32_t op2 = field(word, 24, 23);
  const bool op3_high = bit(word, 21);
  const uint32_t op4 = field(word, 11, 10);
  const uint32_t class_bits = op0 & 3;  // bits 29:28

  if ((op0 & 0b1011) == 0 && op1) {  // Advanced SIMD structures
    return (op2 & 2) == 0 ? multiple_structures(word, out) : single_structure(word, out);
  }
  if (op0 == 0b1101 && !op1 && (op2 & 2) != 0 && op3_high) {
    return DecodeStatus::Unsupported;  // memory tags: STG, STZG, ST2G, STZ2G, LDG, STGM...
  }
  switch (class_bits) {
    case 0:  // exclusives and ordered; bit 24 set: RCpc3 and others
      if (op1) return DecodeStatus::NotAccess;
      if ((op2 & 2) != 0) return DecodeStatus::NotAccess;
      return exclusive_or_ordered(word, out);
    case 1:
      if ((op2 & 2) == 0) return literal(word);
      if (!op3_high && op4 == 0) return ordered_unscaled(word, out);
      if (op4 == 1 && !op3_high && field(word, 31, 30) == 0) {
        return DecodeStatus::Unsupported;  // CPY*, SET* (memory copy and set)
      }
      return DecodeStatus::NotAccess;
    case 2:
      return register_pair(word, out);
    default:
      if ((op2 & 2) != 0) return unsigned_offset(word, out);
      if (!op3_high) return immediate_9(word, out);
      if (op4 == 0) return atomic_memory(word, out);
      if (op4 == 2) return register_offset(word, out);
      return field(word, 31, 30) == 3 && !op1 ? DecodeStatus::Unsupported  // LDRAA, LDRAB
                                              : DecodeStatus::NotAccess;
  }
}

constexpr uint32_t kDcZva = 0xd50b7420;  // SYS #3, C7, C4, #1, Xt

}  // namespace

DecodeStatus decode(uint32_t word, Access& out) {
  if ((word & ~uint32_t{31}) == kDcZva) {
    Access access;
    access.operation = Operation::ZeroBlock;
    access.rt = static_cast<uint8_t>(word & 31);
    out = access;
    return DecodeStatus::Access;
  }
  if (field(word, 28, 25) == 0b0010 && bit(word, 31)) {
    return DecodeStatus::Unsupported;  // SVE loads, stores, gathers, scatters and prefetches
  }
  if (!bit(word, 27) || bit(word, 25)) return DecodeStatus::NotAccess;
  return load_store(word, out);
}

bool writes_memory(Operation operation) {
  switch (operation) {
    case Operation::Load:
    case Operation::LoadPair:
    case Operation::LoadExclusive:
    case Operation::LoadExclusivePair:
    case Operation::LoadMultiple:
    case Operation::LoadSingle:
    case Operation::LoadReplicate:
      return false;
    default:
      return true;
  }
}

}  // namespace mmiotrace::arm64
