// mmiotrace: signal-safe
// An exclusive sequence carried out in one trap (see exclusive_sequence.hpp): a small
// interpreter of the integer instructions found between a load-exclusive and its
// store-exclusive.
#include "arm64/exclusive_sequence.hpp"

#include "arm64/decoder.hpp"
#include "arm64/instruction_fields.hpp"

namespace mmiotrace::arm64 {
namespace {

constexpr uint64_t kN = uint64_t{1} << 31, kZ = uint64_t{1} << 30, kC = uint64_t{1} << 29,
                   kV = uint64_t{1} << 28;

uint64_t width_mask(bool sf) {
  return sf ? ~uint64_t{0} : 0xffffffffu;
}

// Register n as a source: 31 is SP where `stack` says so, else XZR.
uint64_t get(const State& state, unsigned n, bool stack) {
  if (n == 31) return stack ? state.sp : 0;
  return state.x[n];
}
void put(State& state, unsigned n, uint64_t value, bool sf, bool stack) {
  value &= width_mask(sf);
  if (n == 31) {
    if (stack) state.sp = value;
    return;
  }
  state.x[n] = value;
}

uint64_t shifted(uint64_t value, unsigned type, unsigned amount, bool sf) {
  const unsigned size = sf ? 64 : 32;
  value &= width_mask(sf);
  amount %= size;
  if (amount == 0) return value;
  switch (type) {
    case 0:
      return (value << amount) & width_mask(sf);
    case 1:
      return value >> amount;
    case 2: {
      const int64_t wide =
          sf ? static_cast<int64_t>(value) : static_cast<int64_t>(static_cast<int32_t>(value));
      return static_cast<uint64_t>(wide >> amount) & width_mask(sf);
    }
    default:
      return ((value >> amount) | (value << (size - amount))) & width_mask(sf);
  }
}

// x + y + carry, with the flags it sets.
uint64_t add_with_carry(uint64_t x, uint64_t y, bool carry, bool sf, uint64_t* flags) {
  x &= width_mask(sf);
  y &= width_mask(sf);
  const unsigned size = sf ? 64 : 32;
  const uint64_t sum = (x + y + (carry ? 1 : 0)) & width_mask(sf);
  const uint64_t sign = uint64_t{1} << (size - 1);
  bool carry_out;
  if (sf) {
    carry_out = sum < x || (carry && sum == x);
  } else {
    carry_out = (x + y + (carry ? 1 : 0)) > 0xffffffffu;
  }
  const bool overflow = ((x ^ sum) & (y ^ sum) & sign) != 0;
  *flags =
      ((sum & sign) ? kN : 0) | (sum == 0 ? kZ : 0) | (carry_out ? kC : 0) | (overflow ? kV : 0);
  return sum;
}

uint64_t logic_flags(uint64_t result, bool sf) {
  const uint64_t sign = sf ? uint64_t{1} << 63 : uint64_t{1} << 31;
  return ((result & sign) ? kN : 0) | (result == 0 ? kZ : 0);
}

bool condition_holds(unsigned cond, uint64_t nzcv) {
  const bool n = nzcv & kN, z = nzcv & kZ, c = nzcv & kC, v = nzcv & kV;
  bool result = false;
  switch (cond >> 1) {
    case 0:
      result = z;
      break;
    case 1:
      result = c;
      break;
    case 2:
      result = n;
      break;
    case 3:
      result = v;
      break;
    case 4:
      result = c && !z;
      break;
    case 5:
      result = n == v;
      break;
    case 6:
      result = n == v && !z;
      break;
    default:
      result = true;
      break;
  }
  if ((cond & 1) && cond != 15) result = !result;
  return result;
}

// The bitmask of a logical immediate (the Arm ARM's DecodeBitMasks); false when reserved.
bool bit_mask(bool n, unsigned imms, unsigned immr, bool sf, uint64_t* mask) {
  const unsigned combined = (n ? 0x40u : 0u) | (~imms & 0x3f);
  int length = -1;
  for (int i = 6; i >= 0; --i) {
    if (combined & (1u << i)) {
      length = i;
      break;
    }
  }
  if (length < 1 || (!sf && n)) return false;
  const unsigned levels = (1u << length) - 1;
  const unsigned s = imms & levels, r = immr & levels;
  if (s == levels) return false;
  const unsigned element = 1u << length;
  const uint64_t element_mask = element == 64 ? ~uint64_t{0} : (uint64_t{1} << element) - 1;
  uint64_t welem = (s + 1 == 64) ? ~uint64_t{0} : (uint64_t{1} << (s + 1)) - 1;
  if (r != 0) welem = ((welem >> r) | (welem << (element - r))) & element_mask;
  uint64_t replicated = 0;
  for (unsigned at = 0; at < 64; at += element)
    replicated |= welem << at;
  *mask = replicated & width_mask(sf);
  return true;
}

// Interprets one instruction that accesses no memory; false when it is not one of those this
// interpreter knows. Advances state.pc.
bool interpret(uint32_t word, State& state, uint64_t& nzcv, ExclusiveMonitor& monitor) {
  const bool sf = bit(word, 31);
  const unsigned rd = field(word, 4, 0), rn = field(word, 9, 5), rm = field(word, 20, 16);
  uint64_t next = state.pc + 4;

  if ((word & 0x1f800000) == 0x11000000) {  // ADD/ADDS/SUB/SUBS (immediate)
    const bool subtract = bit(word, 30), set_flags = bit(word, 29);
    uint64_t immediate = field(word, 21, 10);
    if (bit(word, 22)) immediate <<= 12;
    const uint64_t x = get(state, rn, true);
    uint64_t flags = 0;
    const uint64_t result = subtract ? add_with_carry(x, ~immediate, true, sf, &flags)
                                     : add_with_carry(x, immediate, false, sf, &flags);
    if (set_flags) nzcv = flags;
    put(state, rd, result, sf, !set_flags);
  } else if ((word & 0x1f200000) == 0x0b000000) {  // ADD/SUB (shifted register)
    const unsigned type = field(word, 23, 22), amount = field(word, 15, 10);
    if (type == 3 || (!sf && amount >= 32)) return false;
    const bool subtract = bit(word, 30), set_flags = bit(word, 29);
    const uint64_t y = shifted(get(state, rm, false), type, amount, sf);
    uint64_t flags = 0;
    const uint64_t x = get(state, rn, false);
    const uint64_t result = subtract ? add_with_carry(x, ~y, true, sf, &flags)
                                     : add_with_carry(x, y, false, sf, &flags);
    if (set_flags) nzcv = flags;
    put(state, rd, result, sf, false);
  } else if ((word & 0x1f000000) == 0x0a000000) {  // AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (reg)
    const unsigned amount = field(word, 15, 10);
    if (!sf && amount >= 32) return false;
    uint64_t y = shifted(get(state, rm, false), field(word, 23, 22), amount, sf);
    if (bit(word, 21)) y = ~y & width_mask(sf);
    const uint64_t x = get(state, rn, false);
    uint64_t result = 0;
    const unsigned opc = field(word, 30, 29);
    switch (opc) {
      case 0:
      case 3:
        result = x & y;
        break;
      case 1:
        result = x | y;
        break;
      default:
        result = x ^ y;
        break;
    }
    result &= width_mask(sf);
    if (opc == 3) nzcv = logic_flags(result, sf);
    put(state, rd, result, sf, false);
  } else if ((word & 0x1f800000) == 0x12000000) {  // AND/ORR/EOR/ANDS (immediate)
    uint64_t y = 0;
    if (!bit_mask(bit(word, 22), field(word, 15, 10), field(word, 21, 16), sf, &y)) return false;
    const uint64_t x = get(state, rn, false);
    const unsigned opc = field(word, 30, 29);
    uint64_t result = opc == 1 ? x | y : opc == 2 ? x ^ y : x & y;
    result &= width_mask(sf);
    if (opc == 3) nzcv = logic_flags(result, sf);
    put(state, rd, result, sf, opc != 3);
  } else if ((word & 0x1f800000) == 0x12800000) {  // MOVN/MOVZ/MOVK
    const unsigned opc = field(word, 30, 29), hw = field(word, 22, 21);
    if (opc == 1 || (!sf && hw >= 2)) return false;
    const uint64_t immediate = uint64_t{field(word, 20, 5)} << (16 * hw);
    uint64_t result;
    if (opc == 0) {
      result = ~immediate;
    } else if (opc == 2) {
      result = immediate;
    } else {
      result = (get(state, rd, false) & ~(uint64_t{0xffff} << (16 * hw))) | immediate;
    }
    put(state, rd, result, sf, false);
  } else if ((word & 0x1fe00800) == 0x1a800000 && !bit(word, 29)) {  // CSEL/CSINC/CSINV/CSNEG
    const bool invert = bit(word, 30), increment = bit(word, 10);
    uint64_t result;
    if (condition_holds(field(word, 15, 12), nzcv)) {
      result = get(state, rn, false);
    } else {
      result = get(state, rm, false);
      if (invert) result = ~result;
      if (increment) result += 1;
    }
    put(state, rd, result, sf, false);
  } else if ((word & 0x1fe00010) == 0x1a400000 && bit(word, 29) && !bit(word, 10)) {
    // CCMN/CCMP (register, bit 11 clear; immediate, bit 11 set)
    if (condition_holds(field(word, 15, 12), nzcv)) {
      const uint64_t x = get(state, rn, false);
      const uint64_t y = bit(word, 11) ? rm : get(state, rm, false);
      uint64_t flags = 0;
      if (bit(word, 30)) {
        add_with_carry(x, ~y, true, sf, &flags);
      } else {
        add_with_carry(x, y, false, sf, &flags);
      }
      nzcv = flags;
    } else {
      nzcv = uint64_t{field(word, 3, 0)} << 28;
    }
  } else if ((word & 0x7e000000) == 0x34000000) {  // CBZ/CBNZ
    const bool zero = (get(state, rd, false) & width_mask(sf)) == 0;
    if (zero != bit(word, 24))
      next = state.pc + static_cast<uint64_t>(signed_field(word, 23, 5) * 4);
  } else if ((word & 0x7e000000) == 0x36000000) {  // TBZ/TBNZ
    const unsigned tested = (sf ? 32 : 0) + field(word, 23, 19);
    const bool set = ((get(state, rd, false) >> tested) & 1) != 0;
    if (set == bit(word, 24))
      next = state.pc + static_cast<uint64_t>(signed_field(word, 18, 5) * 4);
  } else if ((word & 0xff000010) == 0x54000000) {  // B.cond
    if (condition_holds(field(word, 3, 0), nzcv)) {
      next = state.pc + static_cast<uint64_t>(signed_field(word, 23, 5) * 4);
    }
  } else if ((word & 0xfc000000) == 0x14000000) {  // B
    next = state.pc + static_cast<uint64_t>(signed_field(word, 25, 0) * 4);
  } else if (word == 0xd503201f || word == 0xd503203f || word == 0xd503205f || word == 0xd503209f ||
             word == 0xd50320bf) {                 // NOP, YIELD, WFE, SEV, SEVL
  } else if ((word & 0xfffff01f) == 0xd503301f) {  // CLREX, DSB, DMB, ISB
    const unsigned op2 = field(word, 7, 5);
    if (op2 == 2) {
      monitor.armed = false;
    } else if (op2 == 4 || op2 == 5 || op2 == 6) {
      full_barrier();
    } else {
      return false;
    }
  } else {
    return false;
  }
  state.pc = next;
  return true;
}

}  // namespace

bool interpret_to_access(State& state, uint64_t& nzcv, CodeReader& code, ExclusiveMonitor& monitor,
                         unsigned limit, Access* access, unsigned* interpreted) {
  for (unsigned i = 0; i <= limit; ++i) {
    if (interpreted != nullptr) *interpreted = i;
    uint32_t word = 0;
    if (!code.read(state.pc, &word)) return false;
    const DecodeStatus status = decode(word, *access);
    if (status == DecodeStatus::Access) return true;
    if (i == limit || status != DecodeStatus::NotAccess || !interpret(word, state, nzcv, monitor)) {
      return false;
    }
  }
  return false;
}

SequenceResult run_exclusive_sequence(State& state, uint64_t& nzcv, CodeReader& code,
                                      Memory& memory, ExclusiveMonitor& monitor) {
  SequenceResult result;
  Access access;
  if (!interpret_to_access(state, nzcv, code, monitor, kMaxSequenceInstructions, &access,
                           &result.interpreted)) {
    return result;
  }
  if (access.operation != Operation::StoreExclusive &&
      access.operation != Operation::StoreExclusivePair) {
    return result;  // another access: it runs natively (and traps, if it is traced)
  }
  memory.at_instruction(state.pc);
  const EmulationResult stored = emulate(access, state, memory, monitor, 0);
  switch (stored.status) {
    case EmulationStatus::Done:
      result.end = SequenceEnd::StoreExclusive;
      result.interpreted++;
      break;
    case EmulationStatus::Fault:
    case EmulationStatus::Alignment:
      result.end = SequenceEnd::Fault;
      result.fault = stored;
      break;
    case EmulationStatus::Unsupported:
      break;
  }
  return result;
}

}  // namespace mmiotrace::arm64
