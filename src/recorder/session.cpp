// mmiotrace: signal-safe
// The current recording session (see session.hpp).
#include "recorder/session.hpp"

#include <atomic>

namespace mmiotrace::recorder {
namespace {

constinit std::atomic<Session*> g_session{nullptr};

}  // namespace

Session* current_session() {
  return g_session.load(std::memory_order_acquire);
}
void set_current_session(Session* session) {
  g_session.store(session, std::memory_order_release);
}

}  // namespace mmiotrace::recorder
