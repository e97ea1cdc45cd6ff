// mmiotrace: signal-safe
// The shared memory through which traced processes hand their events to the writer: a control
// block, then one single-producer ring per thread, then one StagedAccessLog per ring (the code
// cache's log of the ring's thread, core/staged_access_log.hpp). `mmiotrace record` (or the
// in-process writer) creates it as a memfd; every traced process maps it, each of its threads
// claims a ring on its first event, and the writer drains the rings into the trace file.
// Whatever a process wrote before it died, even by SIGKILL, stays for the writer to collect.
//
// Contract: a ring has one producer (its owner thread, from normal code or its signal
// handlers, which then run with asynchronous signals blocked) and one consumer (the writer).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/staged_access_log.hpp"

namespace mmiotrace::trace {

inline constexpr uint64_t kBufferMagic = 0x4d4d494f52494e47ull;  // "MMIORING"
inline constexpr uint32_t kBufferVersion = 3;
inline constexpr uint32_t kMaxRings = 1024;

enum RingState : uint32_t { kRingFree = 0, kRingClaimed = 1, kRingOwned = 2 };

struct alignas(64) RingControl {
  std::atomic<uint32_t> state{kRingFree};
  int32_t owner_pid = 0;  // written by the claiming thread before it publishes kRingOwned
  int32_t owner_tid = 0;
  // The producer's cache line.
  alignas(64) std::atomic<uint64_t> head{0};  // bytes ever written: the producer only
  uint64_t tail_seen = 0;                     // the producer's last look at `tail`
  std::atomic<uint64_t> lost{0};  // dropped (--drop), not yet reported: the producer, and the
                                  // writer once the producer thread is gone
  // The writer's cache line.
  alignas(64) std::atomic<uint64_t> tail{0};  // bytes ever consumed: the writer only
};

struct BufferControl {
  uint64_t magic;
  uint32_t version;
  uint32_t ring_count;
  uint64_t ring_bytes;                     // each ring's data, a power of two
  std::atomic<uint32_t> drop_when_full;    // set by the writer: drop (and count) instead of wait
  std::atomic<int32_t> wakeup_fd;          // an eventfd, at this number in traced processes:
                                           // producers write to it to wake the writer (or -1)
  std::atomic<int32_t> writer_pid;         // the process that drains; producers stop waiting for
                                           // space when it is gone
  std::atomic<uint32_t> writer_streaming;  // set by the writer while it drains again shortly
                                           // whatever happens: producers need not wake it
  std::atomic<int32_t> last_map_id;        // map ids given out, shared by every traced process
  std::atomic<uint64_t> unrecorded;        // events no ring could take (all rings in use)
  RingControl rings[kMaxRings];
};

// A mapped trace buffer. Any context, once mapped.
class TraceBuffer {
 public:
  TraceBuffer() = default;
  // Over an existing mapping of `size` bytes (normal context).
  static TraceBuffer attach(void* memory, size_t size);
  // Bytes needed for `ring_count` rings of `ring_bytes` each.
  static size_t bytes_for(uint32_t ring_count, uint64_t ring_bytes);
  // Lays out a fresh buffer in zeroed memory.
  static TraceBuffer format(void* memory, uint32_t ring_count, uint64_t ring_bytes);

  bool valid() const { return control_ != nullptr; }
  BufferControl& control() const { return *control_; }
  uint8_t* ring_data(uint32_t index) const {
    return data_ + static_cast<size_t>(index) * control_->ring_bytes;
  }
  // The code-cache log of ring `index`'s thread.
  StagedAccessLog& staged_log(uint32_t index) const;

  // Claims a free ring for the calling thread; null when none is free. Signal-safe.
  RingControl* claim(int pid, int tid);

 private:
  BufferControl* control_ = nullptr;
  uint8_t* data_ = nullptr;
};

// The producer side of one ring. Signal-safe.
class RingWriter {
 public:
  RingWriter(BufferControl& control, RingControl& ring, uint8_t* data)
      : control_(&control), ring_(&ring), data_(data) {}
  // Appends one record (`size` bytes, a multiple of 8). When the ring is full it waits for the
  // writer to make room, or drops the record and counts it (drop mode, or no writer left).
  // Returns false when the record was dropped.
  bool append(const uint8_t* record, size_t size);

  // The same in two steps, for a record made in place: room for `size` bytes (null when the
  // record is dropped), then commit() once they are written. Inline for the common case (room
  // before the ring's end, nothing lost, no writer to nudge), which a trapped access takes.
  uint8_t* begin_record(size_t size) {
    const uint64_t capacity = control_->ring_bytes;
    const uint64_t head = ring_->head.load(std::memory_order_relaxed);
    const uint64_t offset = head & (capacity - 1);
    if (ring_->lost.load(std::memory_order_relaxed) == 0 && size <= capacity - offset &&
        capacity - (head - ring_->tail_seen) >= size) {
      return data_ + offset;
    }
    return begin_record_in_full(size);
  }
  void commit(size_t size) {
    const uint64_t head = ring_->head.load(std::memory_order_relaxed);
    const uint64_t used = head + size - ring_->tail_seen;
    const uint64_t capacity = control_->ring_bytes;
    const bool three_quarters = crosses(used, size, capacity / 4 * 3);
    if (!three_quarters && !crosses(used, size, capacity / 2)) {
      ring_->head.store(head + size, std::memory_order_release);
      return;
    }
    commit_and_nudge(head, size, three_quarters);
  }

 private:
  static bool crosses(uint64_t used, size_t size, uint64_t mark) {
    return used > mark && used - size <= mark;
  }
  // begin_record() in full: a count of lost records published first, room made (a padding record
  // at the ring's end, or a wait for the writer), or the record counted lost.
  uint8_t* begin_record_in_full(size_t size);
  void commit_and_nudge(uint64_t head, size_t size, bool three_quarters);
  bool reserve(size_t size);
  void publish_lost_if_any();

  BufferControl* control_;
  RingControl* ring_;
  uint8_t* data_;
};

}  // namespace mmiotrace::trace
