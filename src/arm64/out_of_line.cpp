// mmiotrace: signal-safe
// Which A64 words can be executed out of line, and the bytes they may touch (see
// out_of_line.hpp). Bit positions are the Arm ARM's ("SVE Memory - Contiguous Load", "- Memory
// Store", "- 32-bit Gather and Unsized Contiguous", and the LD64B/ST64B encodings).
#include "arm64/out_of_line.hpp"

#include "arm64/instruction_fields.hpp"

namespace mmiotrace::arm64 {
namespace {

constexpr unsigned kSp = 31;

// The elements of a layout that its governing predicate picks one by one, and how far apart
// their accesses begin in memory; none (count 0) for one element or an unpredicated register.
struct PredicatedElements {
  unsigned count = 0;
  uint64_t stride = 0;
};
PredicatedElements predicated_elements(const OutOfLineForm& form, unsigned vector_bytes) {
  switch (form.layout) {
    case OutOfLineLayout::Contiguous:
      return {vector_bytes / form.element_bytes, form.memory_bytes};
    case OutOfLineLayout::Structures:
      return {vector_bytes / form.element_bytes, uint64_t{form.memory_bytes} * form.registers};
    case OutOfLineLayout::Replicated:
      return {unsigned{form.fixed_bytes} / form.element_bytes, form.memory_bytes};
    default:
      return {};
  }
}

// Whether bit `index` of a predicate (one bit per vector byte) is set.
bool predicate_bit(const uint8_t* predicate, unsigned index) {
  return ((predicate[index / 8] >> (index % 8)) & 1) != 0;
}

// LD1*'s dtype field: bytes read per element (msize) and bytes of the element in the register
// (esize); sign- or zero-extension does not change the range.
struct ElementSizes {
  uint8_t memory;
  uint8_t element;
};
constexpr ElementSizes kLoadDtype[16] = {
    {1, 1}, {1, 2}, {1, 4}, {1, 8},  // LD1B .B .H .S .D
    {4, 8}, {2, 2}, {2, 4}, {2, 8},  // LD1SW .D, LD1H .H .S .D
    {2, 8}, {2, 4}, {4, 4}, {4, 8},  // LD1SH .D .S, LD1W .S .D
    {1, 8}, {1, 4}, {1, 2}, {8, 8},  // LD1SB .D .S .H, LD1D .D
};

constexpr uint8_t log2_of(unsigned bytes) {
  return bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3;
}

OutOfLineForm with_base(uint32_t word, const char* name, bool stores) {
  OutOfLineForm form;
  form.base_register = static_cast<uint8_t>(field(word, 9, 5));
  form.data_register = static_cast<uint8_t>(field(word, 4, 0));
  form.governing_predicate = static_cast<uint8_t>(field(word, 12, 10));
  form.writes_memory = stores;
  form.name = name;
  return form;
}

// The offset of a "scalar plus immediate" form (imm4, in units of the range) or of a "scalar plus
// scalar" one (Xm << shift; `xzr_allowed` for LDFF1, whose Xm may be XZR, reserved elsewhere).
bool with_offset(uint32_t word, bool immediate_form, unsigned shift, bool xzr_allowed,
                 OutOfLineForm& form) {
  if (immediate_form) {
    form.immediate = static_cast<int16_t>(signed_field(word, 19, 16));
    return true;
  }
  const auto rm = static_cast<uint8_t>(field(word, 20, 16));
  if (rm == 31 && !xzr_allowed) return false;
  form.has_index_register = true;
  form.index_register = rm;
  form.index_shift = static_cast<uint8_t>(shift);
  return true;
}

// Z or P register fill/spill: LDR/STR (vector) and (predicate), simm9 MUL VL.
bool register_fill_spill(uint32_t word, bool stores, OutOfLineForm& out) {
  if (field(word, 24, 22) != 0b110) return false;
  const uint32_t op = field(word, 15, 13);
  const bool vector = op == 0b010;
  if (!vector && (op != 0b000 || bit(word, 4))) return false;
  OutOfLineForm form = with_base(word,
                                 vector ? (stores ? "SVE vector spills (STR of a Z register)"
                                                  : "SVE vector fills (LDR of a Z register)")
                                        : (stores ? "SVE predicate spills (STR of a P register)"
                                                  : "SVE predicate fills (LDR of a P register)"),
                                 stores);
  const uint32_t imm9 = (field(word, 21, 16) << 3) | field(word, 12, 10);
  form.immediate = static_cast<int16_t>(sign_extended(imm9, 9));
  form.vector_multiplier = 1;
  form.vector_divisor = vector ? 1 : 8;
  form.layout = vector ? OutOfLineLayout::WholeVector : OutOfLineLayout::WholePredicate;
  if (!vector) form.data_register = static_cast<uint8_t>(field(word, 3, 0));
  out = form;
  return true;
}

// LD1*/LDFF1*/LDNF1*/ST1*: elements of `memory_bytes` in memory, `element_bytes` in Zt.
bool contiguous(uint32_t word, const char* name, bool stores, unsigned memory_bytes,
                unsigned element_bytes, bool immediate_form, bool xzr_allowed, OutOfLineForm& out) {
  OutOfLineForm form = with_base(word, name, stores);
  form.vector_multiplier = form.memory_bytes = static_cast<uint8_t>(memory_bytes);
  form.vector_divisor = form.element_bytes = static_cast<uint8_t>(element_bytes);
  if (!with_offset(word, immediate_form, log2_of(memory_bytes), xzr_allowed, form)) return false;
  out = form;
  return true;
}

// LDNT1*/LD2-LD4 and STNT1*/ST2-ST4: `registers` registers of 1 << msz-byte elements, the
// structures element-major.
bool structures(uint32_t word, unsigned registers, bool stores, bool immediate_form,
                OutOfLineForm& out) {
  const char* name =
      stores
          ? (registers == 1 ? "SVE non-temporal stores (STNT1*)" : "SVE structure stores (ST2-ST4)")
          : (registers == 1 ? "SVE non-temporal loads (LDNT1*)" : "SVE structure loads (LD2-LD4)");
  OutOfLineForm form = with_base(word, name, stores);
  const unsigned msz = field(word, 24, 23);
  form.vector_multiplier = form.registers = static_cast<uint8_t>(registers);
  form.layout = OutOfLineLayout::Structures;
  form.memory_bytes = form.element_bytes = static_cast<uint8_t>(1u << msz);
  if (!with_offset(word, immediate_form, msz, false, form)) return false;
  out = form;
  return true;
}

// 1010010: SVE contiguous loads.
bool contiguous_load(uint32_t word, OutOfLineForm& out) {
  const uint32_t op = field(word, 15, 13);
  const unsigned registers = field(word, 22, 21) + 1;
  switch (op) {
    case 0b101:    // LD1* / LDNF1* (scalar plus immediate)
    case 0b010:    // LD1* (scalar plus scalar)
    case 0b011: {  // LDFF1* (scalar plus scalar)
      const ElementSizes sizes = kLoadDtype[field(word, 24, 21)];
      const bool non_fault = op == 0b101 && bit(word, 20);
      const char* name = op == 0b011 ? "SVE first-fault loads (LDFF1*)"
                         : non_fault ? "SVE non-fault loads (LDNF1*)"
                                     : "SVE contiguous loads (LD1*)";
      if (!contiguous(word, name, false, sizes.memory, sizes.element, op == 0b101, op == 0b011,
                      out)) {
        return false;
      }
      out.first_fault = op == 0b011 || non_fault;
      return true;
    }
    case 0b111:  // LDNT1* / LD2-LD4 (scalar plus immediate)
      return !bit(word, 20) && structures(word, registers, false, true, out);
    case 0b110:  // (scalar plus scalar)
      return structures(word, registers, false, false, out);
    case 0b001:    // LD1RQ* / LD1RO* (scalar plus immediate)
    case 0b000: {  // (scalar plus scalar)
      if (registers > 2 || (op == 0b001 && bit(word, 20))) return false;
      OutOfLineForm form = with_base(
          word,
          registers == 1 ? "SVE replicating loads (LD1RQ*)" : "SVE replicating loads (LD1RO*)",
          false);
      const unsigned msz = field(word, 24, 23);
      form.fixed_bytes = registers == 1 ? 16 : 32;
      form.layout = OutOfLineLayout::Replicated;
      form.memory_bytes = form.element_bytes = static_cast<uint8_t>(1u << msz);
      if (!with_offset(word, op == 0b001, msz, false, form)) return false;
      out = form;
      return true;
    }
    default:
      return false;
  }
}

// 1000010: of the 32-bit gathers and unsized contiguous group, LD1R* and LDR (vector, predicate).
bool unsized_contiguous_load(uint32_t word, OutOfLineForm& out) {
  if (register_fill_spill(word, false, out)) return true;
  if (!bit(word, 22) || !bit(word, 15)) return false;  // gathers and prefetches
  const ElementSizes sizes = kLoadDtype[(field(word, 24, 23) << 2) | field(word, 14, 13)];
  OutOfLineForm form = with_base(word, "SVE broadcasting loads (LD1R*)", false);
  form.fixed_bytes = sizes.memory;
  form.immediate = static_cast<int16_t>(field(word, 21, 16));  // unsigned, in elements
  form.layout = OutOfLineLayout::Broadcast;
  form.memory_bytes = sizes.memory;
  form.element_bytes = sizes.element;
  out = form;
  return true;
}

// 1110010: SVE contiguous stores (and STR of Z and P registers).
bool contiguous_store(uint32_t word, OutOfLineForm& out) {
  if (register_fill_spill(word, true, out)) return true;
  const uint32_t op = field(word, 15, 13);
  const unsigned msz = field(word, 24, 23);
  const unsigned size = field(word, 22, 21);
  if ((op == 0b111 && !bit(word, 20)) || op == 0b010) {  // ST1* (scalar plus immediate/scalar)
    return size >= msz && contiguous(word, "SVE contiguous stores (ST1*)", true, 1u << msz,
                                     1u << size, op == 0b111, false, out);
  }
  if (op == 0b111 || op == 0b011) {  // STNT1* / ST2-ST4
    return structures(word, size + 1, true, op == 0b111, out);
  }
  return false;  // scatters
}

// LD64B, ST64B, ST64BV, ST64BV0: 11111000 001 Rs 1 opc 00 Rn Rt.
bool single_copy_64_bytes(uint32_t word, OutOfLineForm& out) {
  if (field(word, 31, 21) != 0b11111000001 || !bit(word, 15) || field(word, 11, 10) != 0) {
    return false;
  }
  const uint32_t opc = field(word, 14, 12);
  const unsigned rs = field(word, 20, 16), rn = field(word, 9, 5), rt = field(word, 4, 0);
  OutOfLineForm form;
  if (opc == 0b101 && rs == 31) {
    if (rt % 2 != 0 || rt > 22 || (rn >= rt && rn <= rt + 7)) return false;
    form = with_base(word, "64-byte single-copy loads (LD64B)", false);
  } else if (opc == 0b001 && rs == 31) {
    form = with_base(word, "64-byte single-copy stores (ST64B)", true);
  } else if (opc == 0b011 || opc == 0b010) {
    if (rs == rn) return false;  // the status register would overwrite the base
    form = with_base(word,
                     opc == 0b011 ? "64-byte single-copy stores (ST64BV)"
                                  : "64-byte single-copy stores (ST64BV0)",
                     true);
  } else {
    return false;
  }
  form.fixed_bytes = 64;
  form.layout = OutOfLineLayout::SixtyFourBytes;
  out = form;
  return true;
}

}  // namespace

bool out_of_line_form(uint32_t word, OutOfLineForm& out) {
  OutOfLineForm form;
  bool found;
  switch (field(word, 31, 25)) {
    case 0b1010010:
      found = contiguous_load(word, form);
      break;
    case 0b1000010:
      found = unsized_contiguous_load(word, form);
      break;
    case 0b1110010:
      found = contiguous_store(word, form);
      break;
    default:
      found = single_copy_64_bytes(word, form);
      break;
  }
  if (!found || form.base_register == kSp) return false;
  out = form;
  return true;
}

bool out_of_line_footprint(const OutOfLineForm& form, const uint64_t registers[31],
                           unsigned vector_bytes, const uint8_t* predicates, Footprint& out) {
  if (form.vector_multiplier != 0 && vector_bytes == 0) return false;
  const uint64_t bytes =
      uint64_t{vector_bytes} * form.vector_multiplier / form.vector_divisor + form.fixed_bytes;
  uint64_t offset;
  if (form.has_index_register) {
    const uint64_t index = form.index_register == 31 ? 0 : registers[form.index_register];
    offset = index << form.index_shift;
  } else {
    offset = static_cast<uint64_t>(static_cast<int64_t>(form.immediate)) * bytes;
  }
  out.address = out.base = registers[form.base_register] + offset;
  out.bytes = bytes;
  // The elements the governing predicate makes active, from the first to the last.
  const PredicatedElements predicated = predicated_elements(form, vector_bytes);
  const unsigned elements = predicated.count;
  const uint64_t stride = predicated.stride;
  if (elements == 0 || predicates == nullptr) return true;
  const uint8_t* governing = predicates + form.governing_predicate * (vector_bytes / 8);
  unsigned first = elements, last = 0;
  for (unsigned i = 0; i < elements; ++i) {
    if (!predicate_bit(governing, i * form.element_bytes)) continue;
    if (first == elements) first = i;
    last = i;
  }
  if (first == elements) return true;  // none active (it would not have faulted)
  out.address += first * stride;
  out.bytes = (last - first + 1) * stride;
  return true;
}

namespace {

// `bytes` bytes moved at `address`, given as accesses of 8, 4, 2 or 1 bytes.
void give_run(OutOfLineAccessSink& sink, bool write, uint64_t address, const uint8_t* bytes,
              unsigned length) {
  unsigned done = 0;
  while (done < length) {
    unsigned width = 8;
    while (width > length - done)
      width /= 2;
    sink.access(write, address + done, width, bytes + done);
    done += width;
  }
}

}  // namespace

bool out_of_line_accesses(const OutOfLineForm& form, uint64_t address,
                          const OutOfLineRegisters& registers, OutOfLineAccessSink& sink) {
  const bool write = form.writes_memory;
  const unsigned vector_bytes = registers.vector_bytes;
  const unsigned predicate_bytes = vector_bytes / 8;
  if (form.layout == OutOfLineLayout::SixtyFourBytes) {
    if (registers.x == nullptr) return false;
    uint8_t bytes[64];
    for (unsigned n = 0; n < 8; ++n) {
      const uint64_t value = registers.x[form.data_register + n];
      for (unsigned b = 0; b < 8; ++b)
        bytes[n * 8 + b] = static_cast<uint8_t>(value >> (8 * b));
    }
    give_run(sink, write, address, bytes, sizeof bytes);
    return true;
  }
  if (registers.z == nullptr || registers.p == nullptr || vector_bytes == 0) return false;
  if (form.first_fault && registers.ffr == nullptr) return false;
  auto z = [&](unsigned n) { return registers.z + (n % 32) * vector_bytes; };
  const uint8_t* governing = registers.p + form.governing_predicate * predicate_bytes;
  const unsigned memory_bytes = form.memory_bytes;
  const unsigned element_bytes = form.element_bytes;
  switch (form.layout) {
    case OutOfLineLayout::WholeVector:
      give_run(sink, write, address, z(form.data_register), vector_bytes);
      return true;
    case OutOfLineLayout::WholePredicate:
      give_run(sink, write, address, registers.p + form.data_register * predicate_bytes,
               predicate_bytes);
      return true;
    case OutOfLineLayout::Contiguous:
    case OutOfLineLayout::Replicated:  // (the first fixed_bytes of the vector)
      for (unsigned i = 0; i < predicated_elements(form, vector_bytes).count; ++i) {
        if (!predicate_bit(governing, i * element_bytes)) continue;
        if (form.first_fault && !predicate_bit(registers.ffr, i * element_bytes)) continue;
        sink.access(write, address + uint64_t{i} * memory_bytes, memory_bytes,
                    z(form.data_register) + i * element_bytes);
      }
      return true;
    case OutOfLineLayout::Structures:
      for (unsigned i = 0; i < predicated_elements(form, vector_bytes).count; ++i) {
        if (!predicate_bit(governing, i * element_bytes)) continue;
        for (unsigned r = 0; r < form.registers; ++r) {
          sink.access(write, address + (uint64_t{i} * form.registers + r) * memory_bytes,
                      memory_bytes, z(form.data_register + r) + i * element_bytes);
        }
      }
      return true;
    case OutOfLineLayout::Broadcast:
      // Every active element holds the one loaded; inactive ones are zeroed.
      for (unsigned i = 0; i < vector_bytes / element_bytes; ++i) {
        if (!predicate_bit(governing, i * element_bytes)) continue;
        sink.access(write, address, memory_bytes, z(form.data_register) + i * element_bytes);
        return true;
      }
      return true;
    case OutOfLineLayout::SixtyFourBytes:
      break;
  }
  return true;
}

}  // namespace mmiotrace::arm64
