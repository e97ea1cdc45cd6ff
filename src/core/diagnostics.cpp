// mmiotrace: signal-safe
// Diagnostics written straight to fd 2 (see diagnostics.hpp).
#include "core/diagnostics.hpp"

#include "core/syscall.hpp"

namespace mmiotrace {

void Diagnostic::emit() {
  if (truncated()) {
    // Keep the line a line: end it with an ellipsis where it was cut.
    truncate_to(size() - 4);
    text("...");
  }
  character('\n');
  std::string_view line = view();
  sys::write_all(2, line.data(), line.size());
}

void report(std::string_view message) {
  Diagnostic line;
  line.text(message);
  line.emit();
}

}  // namespace mmiotrace
