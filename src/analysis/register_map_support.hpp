// What the register map readers share (internal to src/analysis): one-line messages with a
// position, names that can stand in a trace line, access keywords, and the streaming SVD reader.
#pragma once

#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "analysis/register_map.hpp"

namespace mmiotrace::analysis::map_support {

// 1-based line and column (in bytes) of byte `offset` of `text`.
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};
TextPosition position_of(std::string_view text, size_t offset);

// Throws RegisterMapError "FILE:LINE:COLUMN: what".
[[noreturn]] void fail_at(const std::string& file, size_t line, size_t column,
                          const std::string& what);

// `text` quoted for a message: in single quotes, control characters as '?', cut at 60 bytes.
std::string quote_for_message(std::string_view text);

// Whether `name` may name a register, field, block or value in a trace line: not empty, no
// spaces or control characters, no ';' or '=' (they separate the names in the output).
bool valid_name(std::string_view name);

// "read-write", "read-only", "write-only", "writeOnce", "read-writeOnce" (SVD's words), and,
// when `short_forms`, "rw", "ro", "wo", "w1", "rw1".
std::optional<RegisterAccess> parse_access(std::string_view text, bool short_forms);

// `digits` (no prefix, no sign) in `base` (2 to 16), or nullopt when they are not all digits of
// it or the value does not fit in 64 bits.
std::optional<uint64_t> parse_digits(std::string_view digits, unsigned base);

// The largest register map the readers make: more registers than this is an error (an SVD `dim`
// of four billion, a YAML alias bomb), not an out-of-memory.
inline constexpr size_t kMaxRegisters = size_t{1}
                                        << 17;  // the largest real SVD files have about 20,000

// Reads CMSIS-SVD from `file` (already open, read to its end in pieces); `file_name` names it
// in messages.
RegisterMap read_svd_stream(std::FILE* file, const std::string& file_name);

}  // namespace mmiotrace::analysis::map_support
