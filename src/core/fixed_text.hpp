// mmiotrace: signal-safe
// Text built in a fixed buffer without allocation or stdio: the formatter for code that runs in
// signal handlers (trace lines, diagnostics). Output that does not fit is cut and flagged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mmiotrace {

class TextSpan {
 public:
  TextSpan(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) {}

  TextSpan& text(std::string_view s);
  TextSpan& character(char c);
  TextSpan& decimal(uint64_t value);
  TextSpan& signed_decimal(int64_t value);
  // Lowercase hex without prefix or padding; `min_digits` pads with zeros on the left.
  TextSpan& hex(uint64_t value, int min_digits = 1);
  // "0x" then lowercase hex, as printf's "0x%lx".
  TextSpan& hex0x(uint64_t value) { return text("0x").hex(value); }
  // Zero-padded decimal of exactly `digits` digits (the microseconds of a timestamp).
  TextSpan& decimal_padded(uint64_t value, int digits);

  std::string_view view() const { return {buffer_, size_}; }
  size_t size() const { return size_; }
  bool truncated() const { return truncated_; }
  void clear() { truncate_to(0); }
  // Drops everything after the first `size` characters and clears the truncation flag.
  void truncate_to(size_t size) {
    if (size < size_) size_ = size;
    truncated_ = false;
  }

 private:
  char* buffer_;
  size_t capacity_;
  size_t size_ = 0;
  bool truncated_ = false;
};

template <size_t Capacity>
class FixedText : public TextSpan {
 public:
  FixedText() : TextSpan(storage_, Capacity) {}
  FixedText(const FixedText&) = delete;
  FixedText& operator=(const FixedText&) = delete;

 private:
  char storage_[Capacity];
};

}  // namespace mmiotrace
