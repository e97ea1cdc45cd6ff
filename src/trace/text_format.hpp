// mmiotrace: signal-safe
// The kernel's mmiotrace text format (version 20070824), byte for byte; see
// docs/trace-format.md.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/fixed_text.hpp"
#include "trace/event.hpp"

namespace mmiotrace::trace {

inline constexpr std::string_view kTextVersionLine = "VERSION 20070824\n";

// Room for the longest line one event can produce (a 64-byte access is eight 8-byte lines; an
// ioctl has two hex dumps of up to 1024 bytes; a marker is cut to fit).
inline constexpr size_t kMaxFormattedEvent = 4608;

// Appends the event's line(s), each ending in '\n'.
void format_text(const Event& event, TextSpan& out);

// "%u.%06lu" of a nanosecond time: seconds, and microseconds rounded to the nearest.
void format_timestamp(uint64_t time_ns, TextSpan& out);

// --- Access lines at full speed ----------------------------------------------------------------
// R and W lines, the bulk of every trace, formatted into raw memory: what format_text() and the
// text writer's hot loop both use. Each function writes at `out` and returns the end of what it
// wrote; it may store up to 16 bytes past that end (the next field overwrites them), so callers
// leave room: kMaxAccessLine bytes for a whole line.

inline constexpr size_t kMaxAccessLine = 128;  // 104 written at most, 107 stored

__extension__ typedef unsigned __int128 TextUint128;  // GCC's and clang's, pedantic or not

// Lowercase hex of `value` without prefix or padding ("%lx"): 1 to 16 digits, 16 bytes stored.
inline char* put_hex(char* out, uint64_t value) {
  uint64_t halves[2];
#if defined(__SSE2__)
  // The 16 nibbles, most significant first, one a byte; then each to its digit (SSE2).
  const __m128i bytes = _mm_cvtsi64_si128(static_cast<long long>(__builtin_bswap64(value)));
  const __m128i low = _mm_and_si128(bytes, _mm_set1_epi8(0x0f));
  const __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f));
  const __m128i nibbles = _mm_unpacklo_epi8(high, low);
  const __m128i letters =
      _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
  const __m128i digits16 = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(halves), digits16);
#else
  // The same 16 digits, most significant first, one nibble at a time (architectures without
  // SSE2).
  char all_digits[16];
  for (unsigned i = 0; i < 16; ++i)
    all_digits[i] = "0123456789abcdef"[(value >> (60 - 4 * i)) & 0xf];
  std::memcpy(halves, all_digits, sizeof(halves));
#endif
  // Without the leading zeros.
  const unsigned digits = (67 - static_cast<unsigned>(__builtin_clzll(value | 1))) >> 2;
  TextUint128 all = static_cast<TextUint128>(halves[1]) << 64 | halves[0];
  all >>= 8 * (16 - digits);
  std::memcpy(out, &all, 16);
  return out + digits;
}

// Decimal of `value` ("%lu"): 1 to 20 digits, nothing stored past them.
inline char* put_decimal(char* out, uint64_t value) {
  char reversed[20];
  unsigned count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (unsigned i = 0; i < count; ++i)
    out[i] = reversed[count - 1 - i];
  return out + count;
}

// What the access lines of one thread in one mapping at one time share, formatted once: the
// fields between the width and the physical address, and the PID that ends them.
struct AccessLineShared {
  AccessLineShared(uint64_t time_ns, int32_t map_id, int32_t pid);
  char middle[48];  // " SECONDS.MICROS MAPID 0x" (34 bytes at most), zero-padded
  char end[16];     // " PID\n" (13 bytes at most), zero-padded
  uint8_t middle_size;
  uint8_t end_size;
};

// "R %d %u.%06lu %d 0x%llx 0x%lx 0x%lx %d\n" (`letter` R or W, `width` 1, 2, 4 or 8).
inline char* put_access_line(char* out, char letter, unsigned width, const AccessLineShared& shared,
                             uint64_t phys, uint64_t value, uint64_t pc) {
  out[0] = letter;
  out[1] = ' ';
  out[2] = static_cast<char>('0' + width);
  std::memcpy(out + 3, shared.middle, sizeof(shared.middle));
  out = put_hex(out + 3 + shared.middle_size, phys);
  std::memcpy(out, " 0x", 3);
  out = put_hex(out + 3, value);
  std::memcpy(out, " 0x", 3);
  out = put_hex(out + 3, pc);
  std::memcpy(out, shared.end, sizeof(shared.end));
  return out + shared.end_size;
}

}  // namespace mmiotrace::trace
