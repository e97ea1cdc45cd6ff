// libFuzzer target for the register map readers: any bytes, read as CMSIS-SVD, JSON or YAML
// (chosen by the first byte), must give a map or a RegisterMapError with a one-line
// "FILE:LINE:COLUMN: " message, never a crash, a hang or a sanitizer report; a map must then
// describe any access without harm. Built with -DMMIOTRACE_FUZZ=ON (clang); see scripts/fuzz.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "analysis/register_map.hpp"

using namespace mmiotrace::analysis;

namespace {

// A refusal must be one line that names the file and a position.
void check_message(const RegisterMapError& error, const std::string& file) {
  std::string_view message = error.what();
  if (message.find('\n') != std::string_view::npos ||
      message.find('\r') != std::string_view::npos ||
      message.substr(0, file.size() + 1) != file + ":") {
    __builtin_trap();
  }
  size_t line_end = message.find(':', file.size() + 1);
  size_t column_end =
      line_end == std::string_view::npos ? line_end : message.find(':', line_end + 1);
  if (column_end == std::string_view::npos || line_end == file.size() + 1 ||
      column_end == line_end + 1 || message.substr(column_end, 2) != ": ") {
    __builtin_trap();
  }
  for (size_t i = file.size() + 1; i < column_end; i++) {
    if (i != line_end && (message[i] < '0' || message[i] > '9')) __builtin_trap();
  }
}

void exercise(const RegisterMap& map) {
  uint64_t base = map.lowest_base();
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{3}, uint64_t{4}, uint64_t{6},
                          uint64_t{0x10}, uint64_t{0x7f}, uint64_t{0x1000}}) {
    for (unsigned width : {1u, 2u, 4u, 8u}) {
      (void)map.describe(base + offset, width, 0x0123456789abcdefull, AccessDirection::Read);
      (void)map.describe(base + offset, width, 0xfedcba9876543210ull, AccessDirection::Write);
    }
  }
  (void)map.describe(UINT64_MAX - 3, 8, ~uint64_t{0});
  for (const RegisterBlock& block : map.blocks()) {
    for (const Register& reg : block.registers) {
      (void)map.describe(block.base + reg.offset, reg.size_bytes(), ~uint64_t{0});
      break;  // the first of each block: enough, and bounded
    }
  }
  RegisterMap moved = map.moved_to(UINT64_MAX - 0xfff);
  (void)moved.describe(UINT64_MAX - 0xfff, 4, 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  RegisterMapFormat format = RegisterMapFormat::Yaml;
  std::string file = "map.yaml";
  if (size > 0 && data[0] == '<') {
    format = RegisterMapFormat::Svd;
    file = "map.svd";
  } else if (size > 0 && data[0] == '{') {
    format = RegisterMapFormat::Json;
    file = "map.json";
  }
  try {
    exercise(parse_register_map(text, format, file));
  } catch (const RegisterMapError& error) {
    check_message(error, file);
  }
  return 0;
}
