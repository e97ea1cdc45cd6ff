// mmiotrace: signal-safe
// Copying and clearing a few bytes whose count is known only at run time (an access's value, an
// instruction's bytes) without a call to the C library: a trap copies several such values, and
// under qemu-user each call and return costs a look-up of translated code. Any context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mmiotrace {

inline constexpr size_t kMaxSmallCopy = 127;

// Copies `size` bytes (at most kMaxSmallCopy) in pieces of fixed sizes, which compile inline.
inline void copy_small(void* destination, const void* source, size_t size) {
  auto* to = static_cast<uint8_t*>(destination);
  const auto* from = static_cast<const uint8_t*>(source);
  const auto piece = [&](size_t bytes, auto copy) {
    if (size & bytes) {
      copy(to, from);
      to += bytes;
      from += bytes;
    }
  };
  piece(64, [](uint8_t* t, const uint8_t* f) { std::memcpy(t, f, 64); });
  piece(32, [](uint8_t* t, const uint8_t* f) { std::memcpy(t, f, 32); });
  piece(16, [](uint8_t* t, const uint8_t* f) { std::memcpy(t, f, 16); });
  piece(8, [](uint8_t* t, const uint8_t* f) { std::memcpy(t, f, 8); });
  piece(4, [](uint8_t* t, const uint8_t* f) { std::memcpy(t, f, 4); });
  piece(2, [](uint8_t* t, const uint8_t* f) { std::memcpy(t, f, 2); });
  piece(1, [](uint8_t* t, const uint8_t* f) { *t = *f; });
}

// Zeroes `size` bytes (at most kMaxSmallCopy) the same way.
inline void zero_small(void* destination, size_t size) {
  static constexpr uint8_t kZeros[kMaxSmallCopy] = {};
  copy_small(destination, kZeros, size);
}

}  // namespace mmiotrace
