// Reading traces: the kernel's text format (also logs written by the kernel's own tracer) and
// mmiotrace's binary format, either compressed with zstd, gzip or xz or not (told by the file's
// first bytes, whatever its name). Streams: memory stays constant whatever the size of the
// trace. Normal context. Malformed input throws TraceReadError naming the file and the line or
// byte offset, after every event before it; or, read leniently, is skipped, counted and warned
// about. Messages never hold raw bytes of the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "trace/event.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::trace {

class TraceReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `bytes` as they may be shown on a terminal: printable ASCII as it is, a backslash doubled,
// \n \t \r, and any other byte (control characters, escape sequences, non-ASCII) as \xHH.
std::string escape_bytes(std::string_view bytes);

// What a reader does with a line or record it cannot read (docs/trace-format.md, Reading
// errors).
struct ReadOptions {
  // true: throw TraceReadError for it (the commands' --strict). false: skip it and go on (at a
  // binary record whose size is unreadable, or at data cut short: stop there), counting it by
  // kind; warn() is told of the first of each kind, with where it is, and once, at the end, of
  // the counts.
  bool strict = true;
  // Where the warnings go, one message a call, without a newline; empty: standard error, after
  // "mmiotrace: warning: ".
  std::function<void(const std::string&)> warn;
};

class TraceReader {
 public:
  virtual ~TraceReader() = default;

  // Opens `path` ("-" for standard input) and tells its format, and compression, by its first
  // bytes. An empty file is refused: it is not a trace (a capture cut before its first line).
  static std::unique_ptr<TraceReader> open(const std::string& path,
                                           const ReadOptions& options = {});

  virtual TraceFormat format() const = 0;
  // The next event, false at the end. Text in `event` is valid until the next call.
  virtual bool next(Event& event) = 0;
  // Where the last event returned by next() is in the file: "line N", or "offset N" (in the
  // decompressed records for a compressed binary file: "record offset N").
  virtual std::string position() const = 0;
  // Bytes of the file read so far (compressed bytes, when it is compressed), and its size (0 when
  // unknown: a pipe), for progress bars.
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t file_size() const = 0;
};

}  // namespace mmiotrace::trace
