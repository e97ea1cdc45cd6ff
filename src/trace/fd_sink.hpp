// mmiotrace: signal-safe
// A TraceSink that writes each event as kernel-format text to a file descriptor, one write(2)
// per event: lines from many threads and processes sharing the descriptor never interleave
// (O_APPEND files and pipes). The first recording back end; the rings replace it for speed.
#pragma once

#include "trace/event.hpp"

namespace mmiotrace::trace {

class TextFdSink final : public TraceSink {
 public:
  explicit TextFdSink(int fd) : fd_(fd) {}
  void write(const Event& event) override;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace mmiotrace::trace
