// mmiotrace: signal-safe
// The per-thread context in initial-exec TLS (see thread_context.hpp).
#include "kmmio/thread_context.hpp"

namespace mmiotrace::kmmio::detail {

constinit thread_local ThreadContext t_context __attribute__((tls_model("initial-exec")));

}  // namespace mmiotrace::kmmio::detail
