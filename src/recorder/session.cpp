// mmiotrace: signal-safe, vector-free
// The current recording session (see session.hpp).
#include "recorder/session.hpp"

#include <atomic>

#include "arch/code_cache.hpp"
#include "kmmio/code_cache.hpp"
#include "recorder/recorder_handlers.hpp"

namespace mmiotrace::recorder {
namespace {

constinit std::atomic<Session*> g_session{nullptr};

}  // namespace

Session* current_session() {
  return g_session.load(std::memory_order_acquire);
}
void set_current_session(Session* session) {
  g_session.store(session, std::memory_order_release);
  // The code cache's logs then live in the session's buffer, each thread's with its ring, and
  // name the regions their records fall in: what a thread logged reaches the trace even when
  // the thread dies before it hands its log over.
  arch::set_access_log_placement(&place_access_log, &staged_ring_head);
  kmmio::set_region_reached(&name_staged_region);
}

void mark_notice(const char* text, size_t length, void*) {
  if (Session* session = current_session()) session->recorder.mark(text, length);
}

}  // namespace mmiotrace::recorder
