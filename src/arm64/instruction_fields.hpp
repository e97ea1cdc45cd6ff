// mmiotrace: signal-safe
// The fields of an A64 instruction word, by the Arm ARM's bit positions: how the decoder, the
// exclusive-sequence interpreter and the out-of-line forms read words. Pure; any context.
#pragma once

#include <cstdint>

namespace mmiotrace::arm64 {

// Bits high..low of `word`, as an unsigned number.
constexpr uint32_t field(uint32_t word, unsigned high, unsigned low) {
  return (word >> low) & ((uint32_t{1} << (high - low + 1)) - 1);
}

constexpr bool bit(uint32_t word, unsigned position) {
  return ((word >> position) & 1) != 0;
}

// The low `bits` bits of `value` as a two's-complement number.
constexpr int64_t sign_extended(uint32_t value, unsigned bits) {
  const uint64_t sign = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((uint64_t{value} ^ sign) - sign);
}

// Bits high..low of `word`, as a two's-complement number.
constexpr int64_t signed_field(uint32_t word, unsigned high, unsigned low) {
  return sign_extended(field(word, high, low), high - low + 1);
}

}  // namespace mmiotrace::arm64
