// mmiotrace: signal-safe, vector-free
// The shared trace buffer and its rings (see trace_buffer.hpp).
#include "trace/trace_buffer.hpp"

#include <cstring>
#include <new>

#include "core/monotonic_clock.hpp"
#include "core/syscall.hpp"
#include "trace/binary_format.hpp"

namespace mmiotrace::trace {
namespace {

constexpr size_t kControlBytes = (sizeof(BufferControl) + 4095) & ~size_t{4095};

void wake_writer(BufferControl& control) {
  int fd = control.wakeup_fd.load(std::memory_order_relaxed);
  uint64_t one = 1;
  if (fd >= 0) sys::write(fd, &one, sizeof(one));
}

// Whether a writer still drains this buffer. Once it is found gone, every producer knows.
bool writer_alive(BufferControl& control) {
  int pid = control.writer_pid.load();
  if (pid <= 0) return false;
  if (sys::syscall6(SYS_kill, pid, 0) != -3 /* ESRCH */) return true;
  control.writer_pid.store(0);
  return false;
}

}  // namespace

size_t TraceBuffer::bytes_for(uint32_t ring_count, uint64_t ring_bytes) {
  return kControlBytes + static_cast<size_t>(ring_count) * (ring_bytes + sizeof(StagedAccessLog));
}

TraceBuffer TraceBuffer::format(void* memory, uint32_t ring_count, uint64_t ring_bytes) {
  auto* control = new (memory) BufferControl{};
  control->wakeup_fd.store(-1);
  control->magic = kBufferMagic;
  control->version = kBufferVersion;
  control->ring_count = ring_count < kMaxRings ? ring_count : kMaxRings;
  control->ring_bytes = ring_bytes;
  return attach(memory, bytes_for(control->ring_count, ring_bytes));
}

TraceBuffer TraceBuffer::attach(void* memory, size_t size) {
  TraceBuffer buffer;
  auto* control = static_cast<BufferControl*>(memory);
  if (size < kControlBytes || control->magic != kBufferMagic ||
      control->version != kBufferVersion || control->ring_bytes == 0 ||
      (control->ring_bytes & (control->ring_bytes - 1)) != 0 ||
      bytes_for(control->ring_count, control->ring_bytes) > size) {
    return buffer;
  }
  buffer.control_ = control;
  buffer.data_ = static_cast<uint8_t*>(memory) + kControlBytes;
  return buffer;
}

StagedAccessLog& TraceBuffer::staged_log(uint32_t index) const {
  auto* logs = reinterpret_cast<StagedAccessLog*>(
      data_ + static_cast<size_t>(control_->ring_count) * control_->ring_bytes);
  return logs[index];
}

RingControl* TraceBuffer::claim(int pid, int tid) {
  for (uint32_t i = 0; i < control_->ring_count; ++i) {
    RingControl& ring = control_->rings[i];
    uint32_t expected = kRingFree;
    if (ring.state.load() != kRingFree ||
        !ring.state.compare_exchange_strong(expected, kRingClaimed)) {
      continue;
    }
    ring.owner_pid = pid;
    ring.owner_tid = tid;
    ring.state.store(kRingOwned);
    return &ring;
  }
  return nullptr;
}

// Makes room for `size` contiguous bytes at the head, writing a padding record when the ring
// wraps. Waits for the writer when full (lossless), unless dropping.
bool RingWriter::reserve(size_t size) {
  const uint64_t capacity = control_->ring_bytes;
  uint64_t head = ring_->head.load(std::memory_order_relaxed);
  uint64_t to_end = capacity - (head & (capacity - 1));
  uint64_t need = size <= to_end ? size : size + to_end;
  // The producer looks at the writer's `tail` only when the room it saw last is not enough.
  if (capacity - (head - ring_->tail_seen) >= need) goto room;
  for (unsigned attempt = 0;; ++attempt) {
    ring_->tail_seen = ring_->tail.load(std::memory_order_acquire);
    uint64_t used = head - ring_->tail_seen;
    if (capacity - used >= need) break;
    if (control_->drop_when_full.load(std::memory_order_relaxed)) return false;
    if (attempt % 64 == 0) {
      if (!writer_alive(*control_)) return false;  // nobody will ever drain
      wake_writer(*control_);
    }
    if (attempt < 16) {
      sys::sched_yield();
    } else {
      sys::nanosleep_ns(20'000);
    }
  }
room:
  if (size > to_end) {
    RecordHeader padding = {};
    padding.kind = static_cast<uint8_t>(RecordKind::Padding);
    padding.size = static_cast<uint16_t>(to_end < 0xffff ? to_end : 0);
    // A padding record longer than 64 KiB cannot say its size: the reader skips to the end.
    std::memcpy(data_ + (head & (capacity - 1)), &padding,
                to_end < sizeof(padding) ? to_end : sizeof(padding));
    ring_->head.store(head + to_end, std::memory_order_release);
  }
  return true;
}

void RingWriter::publish_lost_if_any() {
  uint64_t lost = ring_->lost.load(std::memory_order_relaxed);
  if (lost == 0) return;
  Event event;
  event.kind = EventKind::Lost;
  event.length = lost;
  event.time_ns = monotonic_ns();
  event.pid = ring_->owner_pid;
  event.tid = ring_->owner_tid;
  uint8_t record[64];
  size_t size = encode_record(event, record);
  if (!reserve(size)) return;
  uint64_t head = ring_->head.load(std::memory_order_relaxed);
  std::memcpy(data_ + (head & (control_->ring_bytes - 1)), record, size);
  ring_->lost.store(0, std::memory_order_relaxed);
  ring_->head.store(head + size, std::memory_order_release);
}

uint8_t* RingWriter::begin_record_in_full(size_t size) {
  if (ring_->lost.load(std::memory_order_relaxed) != 0) publish_lost_if_any();
  if (!reserve(size)) {
    ring_->lost.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  uint64_t head = ring_->head.load(std::memory_order_relaxed);
  return data_ + (head & (control_->ring_bytes - 1));
}

// Past half full (as far as the producer knows): nudge the writer, once per crossing; past three
// quarters instead while it says records are streaming in. At a crossing the head is stored and
// the writer's word read sequentially consistent, as the writer stores that word and then reads
// the heads before it sleeps: one of them sees the other's store.
void RingWriter::commit_and_nudge(uint64_t head, size_t size, bool three_quarters) {
  ring_->head.store(head + size, std::memory_order_seq_cst);
  bool streaming = control_->writer_streaming.load(std::memory_order_seq_cst) != 0;
  if (streaming == three_quarters) wake_writer(*control_);
}

bool RingWriter::append(const uint8_t* record, size_t size) {
  uint8_t* room = begin_record(size);
  if (room == nullptr) return false;
  std::memcpy(room, record, size);
  commit(size);
  return true;
}

}  // namespace mmiotrace::trace
