// mmiotrace: signal-safe
// Process-wide settings of the engine that handlers read: the strategy, and where notices go.
// Set from normal context at any time; read from signal handlers.
#pragma once

#include <atomic>
#include <cstddef>

#include "mmiotrace/mmiotrace.h"

namespace mmiotrace::kmmio {

namespace detail {
extern constinit std::atomic<mmiotrace_strategy> g_strategy;
}  // namespace detail
inline mmiotrace_strategy current_strategy() {
  return detail::g_strategy.load(std::memory_order_relaxed);
}
void set_strategy(mmiotrace_strategy strategy);

void set_notice_handler(mmiotrace_notice_handler handler, void* user_data);
// Passes one line (ending in '\n') to the notice handler, if there is one. Any context.
void notify(const char* text, size_t length);

}  // namespace mmiotrace::kmmio
