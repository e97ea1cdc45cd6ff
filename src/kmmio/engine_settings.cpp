// mmiotrace: signal-safe
// The engine's settings (see engine_settings.hpp).
#include "kmmio/engine_settings.hpp"

#include <atomic>

namespace mmiotrace::kmmio {
namespace detail {

constinit std::atomic<mmiotrace_strategy> g_strategy{MMIOTRACE_STRATEGY_EMULATE};

}  // namespace detail
namespace {

constinit std::atomic<mmiotrace_notice_handler> g_notice_handler{nullptr};
constinit std::atomic<void*> g_notice_user_data{nullptr};

}  // namespace

void set_strategy(mmiotrace_strategy strategy) {
  detail::g_strategy.store(strategy);
}

void set_notice_handler(mmiotrace_notice_handler handler, void* user_data) {
  g_notice_user_data.store(user_data, std::memory_order_relaxed);
  g_notice_handler.store(handler, std::memory_order_release);
}

void notify(const char* text, size_t length) {
  mmiotrace_notice_handler handler = g_notice_handler.load(std::memory_order_acquire);
  if (handler != nullptr) handler(text, length, g_notice_user_data.load(std::memory_order_relaxed));
}

}  // namespace mmiotrace::kmmio
