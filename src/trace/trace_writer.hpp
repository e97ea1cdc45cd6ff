// Writing trace files: the kernel's text format or the binary format, either compressed with zstd
// or gzip or not, from binary records (as the rings hold them) or from events. Normal context.
// Errors throw TraceWriteError naming the file; a writer that failed can tell how many of the
// events it was given are not in the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "trace/event.hpp"

namespace mmiotrace::trace {

enum class TraceFormat { Text, Binary };

// Text is compressed as a whole (zstdcat or zcat gives it back); a binary trace with zstd
// compresses its records after its header (docs/trace-format.md), with gzip as a whole.
enum class TraceCompression { None, Zstd, Gzip };

struct TraceOutputKind {
  TraceFormat format = TraceFormat::Text;
  TraceCompression compression = TraceCompression::None;
};

// What an output file's name says (docs/cli.md): *.bin binary; *.bin.zst and *.bin.gz compressed
// binary; *.zst and *.gz compressed text; *.txt and *.log text. Nothing for any other name (and
// for *.xz, which no writer makes: see names_unwritable_compression()).
std::optional<TraceOutputKind> output_kind_of_name(std::string_view name);
// Whether the name asks for a compression mmiotrace reads but does not write (*.xz).
bool names_unwritable_compression(std::string_view name);

class TraceWriteError : public std::runtime_error {
 public:
  explicit TraceWriteError(const std::string& message, int error_number = 0)
      : std::runtime_error(message), error_number_(error_number) {}
  int error_number() const { return error_number_; }  // errno, or 0

 private:
  int error_number_;
};

class TraceWriter {
 public:
  virtual ~TraceWriter() = default;

  // Takes ownership of `fd`; `name` is used in error messages. Writes the file's header.
  static std::unique_ptr<TraceWriter> create(int fd, std::string name, TraceFormat format,
                                             TraceCompression compression);
  // `compress`: zstd.
  static std::unique_ptr<TraceWriter> create(int fd, std::string name, TraceFormat format,
                                             bool compress) {
    return create(fd, std::move(name), format,
                  compress ? TraceCompression::Zstd : TraceCompression::None);
  }
  // A writer that writes nothing and counts the events it is given (events_lost() says how
  // many, a LOST record counting the events it stands for): where a recording whose file failed
  // sends what it still drains.
  static std::unique_ptr<TraceWriter> discarding();

  virtual TraceFormat format() const = 0;
  // Whole binary records (see binary_format.hpp), `size` bytes of them, in the order they go to
  // the file. Called with many records at once, it is faster.
  virtual void write_records(const uint8_t* records, size_t size) = 0;
  virtual void write_event(const Event& event) = 0;
  // Pushes buffered output to the file; compressed, so that it decompresses up to there.
  virtual void flush() = 0;
  // Flushes and closes; further writes are errors.
  virtual void close() = 0;

  // Once a write of the file writers has thrown TraceWriteError, every later call but the two
  // below throws it again.
  // How many of the events this writer was given are not in the file whole (a LOST record counts
  // the events it stands for). Before any failure: 0.
  virtual uint64_t events_lost() const { return 0; }
  // After a failure, best effort: cuts a regular file back to its last whole event (or, when
  // compressed, to the last flush that reached it), adds a record saying `lost` events are
  // missing when it can (uncompressed files only), and closes it.
  virtual void end_after_failure(uint64_t lost) { (void)lost; }
};

}  // namespace mmiotrace::trace
