// mmiotrace: signal-safe
// The kernel's mmiotrace text format (version 20070824), byte for byte; see
// docs/trace-format.md.
#pragma once

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

}  // namespace mmiotrace::trace
