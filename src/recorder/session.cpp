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

void mark_notice(const char* text, size_t length, void*) {
  if (Session* session = current_session()) session->recorder.mark(text, length);
}

}  // namespace mmiotrace::recorder
