// mmiotrace: signal-safe
// Messages from inside the traced program to its stderr, one line per write(2), usable from
// signal handlers. The shim speaks only when something is wrong: a traced program's stderr is
// otherwise exactly what it would be untraced.
#pragma once

#include <string_view>

#include "core/fixed_text.hpp"

namespace mmiotrace {

// A diagnostic line that starts with "mmiotrace: "; `emit()` writes it to fd 2 with a newline,
// and leaves it (newline included) in the buffer.
class Diagnostic : public FixedText<512> {
 public:
  Diagnostic() { text("mmiotrace: "); }
  void emit();
};

void report(std::string_view message);

}  // namespace mmiotrace
