// Writing trace files: the kernel's text format or the binary format (optionally zstd
// compressed), from binary records (as the rings hold them) or from events. Normal context.
// Errors throw TraceWriteError naming the file.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "trace/event.hpp"

namespace mmiotrace::trace {

enum class TraceFormat { Text, Binary };

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
                                             bool compress);

  virtual TraceFormat format() const = 0;
  // Whole binary records (see binary_format.hpp), `size` bytes of them.
  virtual void write_records(const uint8_t* records, size_t size) = 0;
  virtual void write_event(const Event& event) = 0;
  // Pushes buffered output to the file (and, compressed, ends the current zstd frame).
  virtual void flush() = 0;
  // Flushes and closes; further writes are errors.
  virtual void close() = 0;
};

}  // namespace mmiotrace::trace
