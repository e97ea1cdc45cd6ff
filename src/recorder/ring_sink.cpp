// mmiotrace: signal-safe, vector-free
// Writing events into per-thread rings (see ring_sink.hpp).
#include "recorder/ring_sink.hpp"

#include <atomic>
#include <cstring>

#include "arch/code_cache.hpp"
#include "core/syscall.hpp"
#include "kmmio/code_cache.hpp"
#include "recorder/session.hpp"
#include "trace/binary_format.hpp"

namespace mmiotrace::recorder {
namespace detail {

constinit thread_local ThreadIdentity t_identity __attribute__((tls_model("initial-exec")));

void learn_thread_identity() {
  t_identity.pid = sys::getpid();
  t_identity.tid = sys::gettid();
}

}  // namespace detail
namespace {

struct ThreadState {
  trace::RingControl* ring = nullptr;
  const trace::BufferControl* buffer = nullptr;  // the buffer `ring` belongs to
  // A write is in progress on this thread. A signal handler that writes meanwhile (the program's
  // own handler touching traced memory) leaves its record in `deferred`, which the interrupted
  // write appends when it is done.
  bool writing = false;
  size_t deferred_size = 0;
  alignas(8) uint8_t deferred[1024] = {};
};

constinit thread_local ThreadState t_state __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) trace::RingControl* claim_thread_ring(const trace::TraceBuffer& buffer) {
  const int pid = current_pid();
  const int tid = current_tid();
  t_state.ring = const_cast<trace::TraceBuffer&>(buffer).claim(pid, tid);
  t_state.buffer = t_state.ring ? &buffer.control() : nullptr;
  return t_state.ring;
}

// This thread's ring, claimed on first use; null when every ring is taken.
inline trace::RingControl* thread_ring(const trace::TraceBuffer& buffer) {
  // Still this thread's (a buffer made anew at the same address has fresh rings).
  if (t_state.ring != nullptr && t_state.buffer == &buffer.control() &&
      t_state.ring->state.load(std::memory_order_relaxed) == trace::kRingOwned &&
      t_state.ring->owner_tid == detail::t_identity.tid) {
    return t_state.ring;
  }
  return claim_thread_ring(buffer);
}

// Clears `writing`; false, and `writing` set again, when a signal handler deferred a record just
// before it was cleared.
inline bool stop_writing() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_state.writing = false;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (t_state.deferred_size == 0) return true;
  t_state.writing = true;  // one slipped in before `writing` was cleared
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return false;
}

// Appends the records that signal handlers deferred meanwhile (more may arrive while these go),
// then clears `writing`.
__attribute__((noinline)) void append_deferred_records(trace::RingWriter& writer) {
  do {
    for (size_t done = 0; done < t_state.deferred_size;) {
      uint16_t deferred_size;
      std::memcpy(&deferred_size, t_state.deferred + done + 2, sizeof(deferred_size));
      writer.append(t_state.deferred + done, deferred_size);
      done += deferred_size;
      if (done == t_state.deferred_size) t_state.deferred_size = 0;
    }
  } while (!stop_writing());
}

// Ends this thread's write: the deferred records, if any, then `writing` cleared.
inline void finish_write(trace::RingWriter& writer) {
  if (t_state.deferred_size == 0 && stop_writing()) return;
  append_deferred_records(writer);
}

}  // namespace

void forget_thread_state_after_fork() {
  detail::t_identity = detail::ThreadIdentity{};
  t_state = ThreadState{};
  arch::unplace_access_log();
}

StagedAccessLog* place_access_log() {
  Session* session = current_session();
  if (session == nullptr || t_state.writing) return nullptr;
  trace::RingControl* ring = thread_ring(session->buffer);
  if (ring == nullptr) return nullptr;
  return &session->buffer.staged_log(static_cast<uint32_t>(ring - session->buffer.control().rings));
}

uint64_t staged_ring_head() {
  return t_state.ring != nullptr ? t_state.ring->head.load(std::memory_order_relaxed) : 0;
}

void RingSink::write(const trace::Event& event) {
  // Accesses that this thread's translated code logged were made before this event.
  kmmio::flush_logged_accesses();
  trace::BufferControl& control = buffer_.control();
  if (t_state.writing) {
    // A signal handler interrupted this thread's own write: leave the record for it.
    size_t size = record_size(event);
    if (t_state.deferred_size + size > sizeof(t_state.deferred)) {
      control.unrecorded.fetch_add(1);
      return;
    }
    encode_record(event, t_state.deferred + t_state.deferred_size, size);
    t_state.deferred_size += size;
    return;
  }
  trace::RingControl* ring = thread_ring(buffer_);
  if (ring == nullptr) {
    control.unrecorded.fetch_add(1);  // every ring is taken
    return;
  }
  trace::RingWriter writer(control, *ring,
                           buffer_.ring_data(static_cast<uint32_t>(ring - control.rings)));
  t_state.writing = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  size_t size = record_size(event);
  if (uint8_t* room = writer.begin_record(size)) {
    encode_record(event, room, size);  // made in place: one copy less
    writer.commit(size);
  }
  finish_write(writer);
}

void RingSink::write_many(const trace::Event* events, size_t count) {
  kmmio::flush_logged_accesses();
  trace::BufferControl& control = buffer_.control();
  size_t total = 0;
  for (size_t i = 0; i < count; ++i)
    total += record_size(events[i]);
  trace::RingControl* ring = t_state.writing ? nullptr : thread_ring(buffer_);
  if (ring == nullptr || control.drop_when_full.load(std::memory_order_relaxed) ||
      total > control.ring_bytes / 4) {
    trace::TraceSink::write_many(events, count);
    return;
  }
  trace::RingWriter writer(control, *ring,
                           buffer_.ring_data(static_cast<uint32_t>(ring - control.rings)));
  t_state.writing = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (uint8_t* room = writer.begin_record(total)) {
    for (size_t i = 0; i < count; ++i) {
      encode_record(events[i], room);
      room += record_size(events[i]);
    }
    writer.commit(total);
  }
  finish_write(writer);
}

size_t RingSink::write_small_accesses(const trace::SmallAccessRun& run) {
  kmmio::flush_logged_accesses();  // a no-op when this is that flush
  trace::BufferControl& control = buffer_.control();
  trace::RingControl* ring = t_state.writing ? nullptr : thread_ring(buffer_);
  if (ring == nullptr || control.drop_when_full.load(std::memory_order_relaxed)) {
    // Nested, every ring taken, or counting drops.
    return trace::TraceSink::write_small_accesses(run);
  }
  trace::RingWriter writer(control, *ring,
                           buffer_.ring_data(static_cast<uint32_t>(ring - control.rings)));
  t_state.writing = true;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // Access runs of a quarter of the ring at most, so that the writer always has room to drain into.
  size_t per_run =
      (control.ring_bytes / 4 - trace::kAccessRunHeaderSize) / trace::kAccessRunWideEntrySize;
  if (per_run > trace::kMaxAccessRunEntries) per_run = trace::kMaxAccessRunEntries;
  if (per_run == 0) per_run = 1;
  size_t done = 0;
  while (done < run.count && run.holds(run.records[done])) {
    size_t n = run.count - done < per_run ? run.count - done : per_run;
    uint8_t* room = writer.begin_record(trace::access_run_size(n));  // room for wide entries
    if (room == nullptr) {  // no writer left to drain: begin_record() counted one of them
      size_t end = done + 1;
      while (end < run.count && run.holds(run.records[end]))
        ++end;
      ring->lost.fetch_add(end - done - 1, std::memory_order_relaxed);
      done = end;
      break;
    }
    size_t taken = 0;
    writer.commit(encode_access_run(run, done, n, room, &taken));
    done += taken;
    if (taken < n) break;  // the run ends there
  }
  finish_write(writer);
  return done;
}

}  // namespace mmiotrace::recorder
