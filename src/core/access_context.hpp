// mmiotrace: signal-safe
// The access a thread's fault handler is carrying out, for the layers below the engine that
// answer it (backends) and want to name it: set by the engine before it emulates an
// instruction, read by backends during it. Per thread; handler context.
#pragma once

#include <cstdint>

namespace mmiotrace {

struct AccessContext {
  uintptr_t pc = 0;  // the instruction being carried out
  // When not 0: the time the access was made, for an access reported after the fact (one that
  // translated code logged); the recorder then uses it instead of reading the clock.
  uint64_t time_ns = 0;
};

inline AccessContext& this_thread_access() {
  constinit thread_local AccessContext context __attribute__((tls_model("initial-exec")));
  return context;
}

}  // namespace mmiotrace
