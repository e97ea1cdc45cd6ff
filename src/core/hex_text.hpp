// A number as "0x" and its lowercase hexadecimal digits, for messages and reports. Normal
// context (it makes a std::string; signal handlers use TextSpan::hex of fixed_text.hpp).
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mmiotrace {

inline std::string hex_text(uint64_t value) {
  char text[24];
  snprintf(text, sizeof(text), "0x%" PRIx64, value);
  return text;
}

}  // namespace mmiotrace
