// The consumer side of the trace buffer: collects what producers published, hands it to a
// TraceWriter, frees the rings of threads that are gone. Used by `mmiotrace record` and by the
// in-process writer. Normal context; one drainer per buffer.
#pragma once

#include <cstdint>
#include <vector>

#include "trace/trace_buffer.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::trace {

class TraceDrainer {
 public:
  explicit TraceDrainer(TraceBuffer buffer) : buffer_(buffer) {}

  // Writes everything published so far to `writer`: binary traces ring by ring, text traces
  // merged across rings in time order. Returns the number of records written.
  uint64_t drain(TraceWriter& writer);

  // How long the writer may wait (for a wake-up from a producer, a marker...) before it drains
  // again. While records stream in: until a ring filling at the rate the last drain saw would be
  // a quarter full, and producers are told they need not wake it before it is three quarters
  // full (a wake-up is a system call, and an interrupt of the writer's core). When a drain found
  // little: long, and producers wake it once a ring is half full. 0: there is more to drain now.
  uint64_t wait_ns();

  // Frees the rings of threads that have exited, once drained, writing what their code cache's
  // logs held (even after a SIGKILL) and the losses they could not report themselves; returns
  // how many rings belong to live processes. After drain().
  size_t reclaim(TraceWriter& writer);

  // Writes what the code cache's logs of threads gone still hold, and the losses still
  // unreported in the rings (and of events no ring could take): at the end of a recording, after
  // the last drain().
  void report_losses(TraceWriter& writer);

 private:
  struct Pending {
    uint32_t ring;
    uint64_t position;  // next record
    uint64_t end;       // head when the drain began
  };
  // The next real record of `pending` (skipping padding), or null when it is exhausted.
  const uint8_t* next_record(Pending& pending) const;
  // drain()'s writing, which advances each Pending's position past what it hands the writer.
  uint64_t write_pending(std::vector<Pending>& pending, TraceWriter& writer);

  void report_ring_loss(RingControl& ring, TraceWriter& writer);

  // Writes what the dead thread of ring `index` left in its code cache's log (StagedAccessLog)
  // and never handed over, then empties that log. Once the ring is drained.
  void recover_staged_accesses(uint32_t index, TraceWriter& writer);
  // The reads and writes that ring `index` holds from byte `from` to its head.
  size_t accesses_since(uint32_t index, uint64_t from) const;

  // Whether a ring holds records not drained yet.
  bool anything_published() const;

  TraceBuffer buffer_;
  uint64_t reported_unrecorded_ = 0;
  uint64_t last_drain_bytes_ = 0;        // what the last drain() took from the rings ...
  uint64_t last_drain_interval_ns_ = 0;  // ... published since the drain before it, this long
  uint64_t last_drain_ns_ = 0;           // before it
  bool streaming_ = false;               // the last wait_ns() found records streaming in
};

}  // namespace mmiotrace::trace
