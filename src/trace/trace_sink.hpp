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
// them (core/access_record.hpp): each becomes a Read or Write event.
struct SmallAccessRun {
  int32_t map_id = kUnknownMapId;
  uint64_t virt_base = 0;  // an address in the mapping ...
  uint64_t phys_base = 0;  // ... and its physical address
  uint64_t time_ns = 0;
  int32_t pid = 0;
  int32_t tid = 0;
  const AccessRecord* records = nullptr;
  size_t count = 0;
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
  virtual void write_small_accesses(const SmallAccessRun& run);

 protected:
  ~TraceSink() = default;  // not deleted through this interface (no operator delete here)
};

}  // namespace mmiotrace::trace
