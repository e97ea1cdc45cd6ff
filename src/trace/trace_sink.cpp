// mmiotrace: signal-safe, vector-free
// What a TraceSink does with batches it has no faster way to take: one event at a time (see
// trace_sink.hpp).
#include "trace/trace_sink.hpp"

#include <cstring>

namespace mmiotrace::trace {

size_t TraceSink::write_small_accesses(const SmallAccessRun& run) {
  Event event;
  event.map_id = run.map_id;
  event.time_ns = run.time_ns;
  event.pid = run.pid;
  event.tid = run.tid;
  size_t i = 0;
  for (; i < run.count && run.holds(run.records[i]); ++i) {
    const AccessRecord& record = run.records[i];
    event.kind = (record.info & kAccessWrite) ? EventKind::Write : EventKind::Read;
    event.width = static_cast<uint8_t>(record.info & 0xff);
    event.pc = record.pc;
    event.virt = record.address;
    event.phys = run.phys_base + (record.address - run.virt_base);
    std::memcpy(event.value, &record.value, sizeof(record.value));
    write(event);
  }
  return i;
}

}  // namespace mmiotrace::trace
