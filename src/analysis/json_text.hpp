// JSON strings, as every JSON output of mmiotrace writes them (report --json, diff --json, the
// Perfetto timeline): one writer, with one rule for bytes that are not UTF-8, which traces hold
// wherever a program wrote them (paths, marker texts, device names): each such byte becomes
// U+FFFD (docs/analysis.md). Normal context.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mmiotrace::analysis {

// The length of the well-formed UTF-8 sequence at text[at] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one.
size_t utf8_sequence_length(std::string_view text, size_t at);

// Appends `text` as the inside of a JSON string, every character kept: quotes, backslashes and
// control characters escaped, each byte that is not part of well-formed UTF-8 written as U+FFFD.
// Returns false when some bytes were replaced (the writer may add the bytes themselves).
bool append_json_text(std::string& out, std::string_view text);

// `text` as a JSON string, quotes included (append_json_text's rule).
std::string json_string(std::string_view text);

// Appends `text` as the inside of a JSON string fit for a timeline event's name: one line, and
// no escapes but \" and \\ (Perfetto's tokenizer reads top-level strings itself; older versions
// refuse \u there, all refuse raw control characters). Control characters become spaces, bytes
// that are not UTF-8 U+FFFD. Keeps at most `max_bytes` bytes of `text`, then an ellipsis.
void append_json_label(std::string& out, std::string_view text, size_t max_bytes);

}  // namespace mmiotrace::analysis
