// mmiotrace: signal-safe
// Text events to a file descriptor (see fd_sink.hpp).
#include "trace/fd_sink.hpp"

#include "core/syscall.hpp"
#include "trace/text_format.hpp"

namespace mmiotrace::trace {

void TextFdSink::write(const Event& event) {
  FixedText<kMaxFormattedEvent> line;
  format_text(event, line);
  sys::write_all(fd_, line.view().data(), line.view().size());
}

}  // namespace mmiotrace::trace
