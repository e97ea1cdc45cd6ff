// mmiotrace: signal-safe
// Turns probe hits into trace events: a Recorder traces mappings, each as a kmmio probe whose
// handlers write R, W and UNKNOWN events to a trace::TraceSink, between a MAP and an UNMAP event.
// Used by the preload shim, and by programs that use the library directly.
#pragma once

#include <atomic>
#include <optional>

#include "core/address_range.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.h"
#include "trace/event.hpp"
#include "trace/trace_sink.hpp"

namespace mmiotrace::recorder {

class Recorder;

// One traced mapping. Created and destroyed by the Recorder (normal context); read by the probe
// handlers (signal context) while registered.
struct TracedMapping {
  mmiotrace_probe probe = {};
  Recorder* recorder = nullptr;
  int map_id = 0;
  AddressRange range;
  uint64_t phys = 0;  // physical address of range.begin
};

// What to trace: the bytes, where they are physically, and how they may be reached.
struct MappingSpec {
  AddressRange range;
  uint64_t phys = 0;              // physical address of range.begin
  std::optional<int> protection;  // the pages' protection, when the caller knows it
  uintptr_t alias = 0;            // mmiotrace_probe::alias (0: let the engine make one)
  // What answers the accesses instead of memory (a device model, a replay), or null. It must
  // outlive the mapping.
  backend::Backend* backend = nullptr;
};

class Recorder {
 public:
  // Also has the accesses that the code cache logs reach the trace in batches (normal context).
  explicit Recorder(trace::TraceSink& sink);
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Logs MAP and arms the range. Returns the mapping, or null with -errno from the probe
  // registration in `error`. Normal context.
  TracedMapping* start(const MappingSpec& spec, uintptr_t pc, int* error);

  // Disarms the mapping, logs UNMAP and frees it. Normal context.
  void stop(TracedMapping* mapping, uintptr_t pc, kmmio::Disarm disarm);

  // The two halves of start() and stop() without their events, for a mapping that changes
  // shape but stays the same mapping (partly unmapped): it keeps its map id.
  TracedMapping* attach(int map_id, const MappingSpec& spec, int* error);
  void detach(TracedMapping* mapping, kmmio::Disarm disarm);

  // A MARK event with `text`. Any context.
  void mark(const char* text, size_t length);

  // The kernel reading (a write() from the buffer) or writing (a read() into it) `size` bytes
  // of a traced mapping at `address`, for a system call the program made: R or W events of
  // naturally aligned pieces of 1 to 64 bytes, in address order. Normal context.
  void record_block(const TracedMapping& mapping, uintptr_t address, const uint8_t* bytes,
                    size_t size, bool write, uintptr_t pc);

  // An ioctl on a traced file (`event` has its fields; time, pid and tid are filled in).
  // Normal context.
  void record_ioctl(trace::Event event);

  trace::TraceSink& sink() { return sink_; }

 private:
  trace::TraceSink& sink_;
};

// Map ids: positive, increasing, never reused. Any context.
int next_map_id();

// Takes map ids from `last_map_id`, a counter in memory shared by every process writing the
// same trace, so that ids stay unique across fork and exec. Normal context, before tracing.
void share_map_ids(std::atomic<int>* last_map_id);

}  // namespace mmiotrace::recorder
