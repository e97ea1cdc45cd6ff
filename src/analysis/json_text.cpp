// JSON strings (see json_text.hpp).
#include "analysis/json_text.hpp"

#include <algorithm>
#include <cstdint>

namespace mmiotrace::analysis {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::string_view kReplacementCharacter = "\xef\xbf\xbd";  // U+FFFD
constexpr std::string_view kEllipsis = "\xe2\x80\xa6";              // U+2026

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

}  // namespace

size_t utf8_sequence_length(std::string_view text, size_t at) {
  auto byte = [&](size_t k) -> unsigned {
    return at + k < text.size() ? static_cast<uint8_t>(text[at + k]) : 0x100;
  };
  auto within = [](unsigned value, unsigned low, unsigned high) {
    return value >= low && value <= high;
  };
  unsigned lead = byte(0);
  if (lead < 0x80) return 1;
  if (within(lead, 0xc2, 0xdf)) return within(byte(1), 0x80, 0xbf) ? 2 : 0;
  if (within(lead, 0xe0, 0xef)) {
    unsigned low = lead == 0xe0 ? 0xa0 : 0x80;
    unsigned high = lead == 0xed ? 0x9f : 0xbf;
    return within(byte(1), low, high) && within(byte(2), 0x80, 0xbf) ? 3 : 0;
  }
  if (within(lead, 0xf0, 0xf4)) {
    unsigned low = lead == 0xf0 ? 0x90 : 0x80;
    unsigned high = lead == 0xf4 ? 0x8f : 0xbf;
    return within(byte(1), low, high) && within(byte(2), 0x80, 0xbf) && within(byte(3), 0x80, 0xbf)
               ? 4
               : 0;
  }
  return 0;
}

bool append_json_text(std::string& out, std::string_view text) {
  bool exact = true;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      if (!is_control(c) && c != '"' && c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      out += '\\';
      switch (c) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '\n':
          out += 'n';
          break;
        case '\t':
          out += 't';
          break;
        case '\r':
          out += 'r';
          break;
        case '\b':
          out += 'b';
          break;
        case '\f':
          out += 'f';
          break;
        default:
          out += "u00";
          out += kHexDigits[c >> 4];
          out += kHexDigits[c & 15];
      }
      continue;
    }
    size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += kReplacementCharacter;
      exact = false;
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return exact;
}

void append_json_label(std::string& out, std::string_view text, size_t max_bytes) {
  for (size_t i = 0; i < text.size();) {
    size_t length = utf8_sequence_length(text, i);
    if (i + std::max<size_t>(length, 1) > max_bytes) {
      out += kEllipsis;
      return;
    }
    if (length == 0) {
      out += kReplacementCharacter;
      ++i;
      continue;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (length == 1 && is_control(c)) {
      out += ' ';
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out.append(text.substr(i, length));
    }
    i += length;
  }
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  append_json_text(out, text);
  out += '"';
  return out;
}

}  // namespace mmiotrace::analysis
