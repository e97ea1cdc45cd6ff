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

  // Frees the rings of threads that have exited, once drained, writing the losses they could
  // not report themselves; returns how many rings belong to live processes. After drain().
  size_t reclaim(TraceWriter& writer);

  // Writes the losses still unreported in the rings (and of events no ring could take): at the
  // end of a recording, after the last drain().
  void report_losses(TraceWriter& writer);

 private:
  struct Pending {
    uint32_t ring;
    uint64_t position;  // next record
    uint64_t end;       // head when the drain began
  };
  // The next real record of `pending` (skipping padding), or null when it is exhausted.
  const uint8_t* next_record(Pending& pending) const;

  void report_ring_loss(RingControl& ring, TraceWriter& writer);

  TraceBuffer buffer_;
  uint64_t reported_unrecorded_ = 0;
};

}  // namespace mmiotrace::trace
