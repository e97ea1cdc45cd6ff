// mmiotrace: signal-safe
// Where a traced process's events go: a TraceSink takes them one by one, several in order, or as
// runs of small accesses made at one time (as the code cache and the emulator's batches log
// them). The recorder's RingSink is the one the shim uses; tests use their own.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/access_record.hpp"
#include "trace/event.hpp"

namespace mmiotrace::trace {

// Reads and writes of 1 to 8 bytes to one mapping, all made at one time, as translated code logs
// them (core/access_record.hpp): each becomes a Read or Write event. The run is the records from
// the first up to `count` of them, or up to the first it does not hold (see holds()): a log's
// records are handed over as they lie, and whoever takes the run finds where it ends on the way.
struct SmallAccessRun {
  int32_t map_id = kUnknownMapId;
  uint64_t virt_base = 0;  // where the mapping begins ...
  uint64_t phys_base = 0;  // ... and its physical address
  // The mapping's bytes from virt_base: a record whose address lies past them is not the run's.
  uint64_t virt_size = ~uint64_t{0};
  uint64_t time_ns = 0;
  int32_t pid = 0;
  int32_t tid = 0;
  const AccessRecord* records = nullptr;
  size_t count = 0;

  // Whether `record` is one of the run's: it lies in the mapping and is 1 to 8 bytes wide (a
  // wider one, a vector's, is followed by its continuations).
  bool holds(const AccessRecord& record) const {
    return record.address - virt_base < virt_size && (record.info & kAccessWidthMask) <= 8;
  }
};

// Where events go. Implementations are called from signal handlers on any thread: they must be
// async-signal-safe and lock-free, and must take the event in one piece.
class TraceSink {
 public:
  virtual void write(const Event& event) = 0;
  // Several events in order, as write() would take them one by one (which sinks may do faster).
  virtual void write_many(const Event* events, size_t count) {
    for (size_t i = 0; i < count; ++i)
      write(events[i]);
  }
  // The run's accesses in order, as write() would take their events (which sinks may do faster).
  // Returns how many records it took: those from the first up to the first the run does not
  // hold, or run.count of them.
  virtual size_t write_small_accesses(const SmallAccessRun& run);

 protected:
  ~TraceSink() = default;  // not deleted through this interface (no operator delete here)
};

}  // namespace mmiotrace::trace
