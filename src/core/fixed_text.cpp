// mmiotrace: signal-safe
// Formatting into fixed buffers (see fixed_text.hpp).
#include "core/fixed_text.hpp"

namespace mmiotrace {

TextSpan& TextSpan::text(std::string_view s) {
  for (char c : s)
    character(c);
  return *this;
}

TextSpan& TextSpan::character(char c) {
  if (size_ < capacity_) {
    buffer_[size_++] = c;
  } else {
    truncated_ = true;
  }
  return *this;
}

TextSpan& TextSpan::decimal(uint64_t value) {
  return decimal_padded(value, 1);
}

TextSpan& TextSpan::signed_decimal(int64_t value) {
  if (value < 0) {
    character('-');
    return decimal(~static_cast<uint64_t>(value) + 1);
  }
  return decimal(static_cast<uint64_t>(value));
}

TextSpan& TextSpan::decimal_padded(uint64_t value, int digits) {
  char reversed[20];
  int count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int pad = count; pad < digits; ++pad)
    character('0');
  while (count > 0)
    character(reversed[--count]);
  return *this;
}

TextSpan& TextSpan::hex(uint64_t value, int min_digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char reversed[16];
  int count = 0;
  do {
    reversed[count++] = kDigits[value & 0xf];
    value >>= 4;
  } while (value != 0);
  for (int pad = count; pad < min_digits; ++pad)
    character('0');
  while (count > 0)
    character(reversed[--count]);
  return *this;
}

}  // namespace mmiotrace
