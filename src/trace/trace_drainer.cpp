// Draining the trace buffer (see trace_drainer.hpp).
#include "trace/trace_drainer.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/monotonic_clock.hpp"
#include "trace/binary_format.hpp"

namespace mmiotrace::trace {
namespace {

bool thread_alive(int pid, int tid) {
  if (syscall(SYS_tgkill, pid, tid, 0) == 0) return true;
  return errno == EPERM;
}

bool process_alive(int pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

// A LOST event for `count` events (of the thread `pid`, `tid`, when known).
void write_lost(TraceWriter& writer, uint64_t count, int32_t pid = 0, int32_t tid = 0,
                uint64_t time_ns = 0) {
  Event event;
  event.kind = EventKind::Lost;
  event.length = count;
  event.pid = pid;
  event.tid = tid;
  event.time_ns = time_ns;
  writer.write_event(event);
}

}  // namespace

const uint8_t* TraceDrainer::next_record(Pending& pending) const {
  const uint64_t capacity = buffer_.control().ring_bytes;
  const uint8_t* data = buffer_.ring_data(pending.ring);
  while (pending.position < pending.end) {
    const uint8_t* record = data + (pending.position & (capacity - 1));
    if (record[0] == static_cast<uint8_t>(RecordKind::Padding)) {
      pending.position += capacity - (pending.position & (capacity - 1));  // to the wrap
      continue;
    }
    return record;
  }
  return nullptr;
}

bool TraceDrainer::anything_published() const {
  BufferControl& control = buffer_.control();
  for (uint32_t i = 0; i < control.ring_count; ++i) {
    RingControl& ring = control.rings[i];
    if (ring.state.load() == kRingOwned &&
        ring.head.load(std::memory_order_seq_cst) != ring.tail.load(std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

uint64_t TraceDrainer::wait_ns() {
  constexpr uint64_t kShortestWait = 20'000;
  constexpr uint64_t kIdleWait = 20'000'000;
  BufferControl& control = buffer_.control();
  if (last_drain_bytes_ >= control.ring_bytes / 64) {
    // Streaming: back before a ring filling at the rate the last drain saw is a quarter full.
    // The first drain after an idle wait cannot tell the rate (what it found may have come at
    // the end of the wait): the next is soon.
    uint64_t wait = kShortestWait;
    if (streaming_) {
      wait = static_cast<uint64_t>(static_cast<double>(control.ring_bytes / 4) *
                                   static_cast<double>(last_drain_interval_ns_) /
                                   static_cast<double>(last_drain_bytes_));
    }
    streaming_ = true;
    control.writer_streaming.store(1);
    return std::clamp(wait, kShortestWait, kIdleWait);
  }
  streaming_ = false;
  // Sequentially consistent, and so are the loads of the heads that follow: see
  // RingWriter::commit().
  control.writer_streaming.store(0, std::memory_order_seq_cst);
  return anything_published() ? 0 : kIdleWait;
}

uint64_t TraceDrainer::drain(TraceWriter& writer) {
  BufferControl& control = buffer_.control();
  std::vector<Pending> pending;
  uint64_t now = monotonic_ns();
  last_drain_interval_ns_ = now - last_drain_ns_;
  last_drain_ns_ = now;
  last_drain_bytes_ = 0;
  for (uint32_t i = 0; i < control.ring_count; ++i) {
    RingControl& ring = control.rings[i];
    if (ring.state.load() != kRingOwned) continue;
    uint64_t tail = ring.tail.load(std::memory_order_relaxed);
    uint64_t head = ring.head.load(std::memory_order_acquire);
    if (head != tail) pending.push_back({i, tail, head});
    last_drain_bytes_ += head - tail;
  }
  try {
    return write_pending(pending, writer);
  } catch (const TraceWriteError&) {
    // What the writer was handed is its own to count, written or lost: it is not drained again.
    for (Pending& p : pending)
      control.rings[p.ring].tail.store(p.position, std::memory_order_release);
    throw;
  }
}

uint64_t TraceDrainer::write_pending(std::vector<Pending>& pending, TraceWriter& writer) {
  BufferControl& control = buffer_.control();
  uint64_t written = 0;
  if (writer.format() == TraceFormat::Binary) {
    // Ring by ring, whole runs of records at once: each thread's records stay in order.
    for (Pending& p : pending) {
      const uint64_t capacity = control.ring_bytes;
      while (const uint8_t* first = next_record(p)) {
        uint64_t run_start = p.position;
        uint64_t run_end = run_start;
        uint64_t wrap = run_start - (run_start & (capacity - 1)) + capacity;
        while (run_end < p.end && run_end < wrap) {
          const uint8_t* record = buffer_.ring_data(p.ring) + (run_end & (capacity - 1));
          if (record[0] == static_cast<uint8_t>(RecordKind::Padding)) break;
          uint16_t size;
          std::memcpy(&size, record + 2, sizeof(size));
          run_end += size;
          ++written;
        }
        p.position = run_end;
        writer.write_records(first, run_end - run_start);
      }
      control.rings[p.ring].tail.store(p.end, std::memory_order_release);
    }
    return written;
  }
  // Text: the rings merged by time. From the ring whose next record is the earliest, every
  // record up to the next one of any other ring goes to the writer at once (with one ring, all
  // of it up to the wrap).
  const uint64_t capacity = control.ring_bytes;
  auto time_of = [](const uint8_t* record) {
    uint64_t time;
    std::memcpy(&time, record + offsetof(RecordHeader, time_ns), sizeof(time));
    return time;
  };
  for (;;) {
    Pending* earliest = nullptr;
    uint64_t earliest_time = 0;
    uint64_t others_time = UINT64_MAX;  // the earliest next record of the other rings
    for (Pending& p : pending) {
      const uint8_t* record = next_record(p);
      if (record == nullptr) continue;
      uint64_t time = time_of(record);
      if (earliest == nullptr || time < earliest_time) {
        if (earliest != nullptr) others_time = earliest_time;
        earliest = &p;
        earliest_time = time;
      } else if (time < others_time) {
        others_time = time;
      }
    }
    if (earliest == nullptr) break;
    const uint8_t* data = buffer_.ring_data(earliest->ring);
    uint64_t start = earliest->position;
    uint64_t end = start;
    uint64_t wrap = start - (start & (capacity - 1)) + capacity;
    while (end < earliest->end && end < wrap) {
      const uint8_t* record = data + (end & (capacity - 1));
      if (record[0] == static_cast<uint8_t>(RecordKind::Padding)) break;
      if (end != start && time_of(record) > others_time) break;
      uint16_t size;
      std::memcpy(&size, record + 2, sizeof(size));
      end += size;
      ++written;
    }
    earliest->position = end;
    writer.write_records(data + (start & (capacity - 1)), end - start);
  }
  for (Pending& p : pending)
    control.rings[p.ring].tail.store(p.end, std::memory_order_release);
  return written;
}

void TraceDrainer::report_ring_loss(RingControl& ring, TraceWriter& writer) {
  uint64_t lost = ring.lost.exchange(0);
  if (lost != 0) write_lost(writer, lost, ring.owner_pid, ring.owner_tid);
}

size_t TraceDrainer::accesses_since(uint32_t index, uint64_t from) const {
  const RingControl& ring = buffer_.control().rings[index];
  const uint64_t head = ring.head.load(std::memory_order_acquire);
  if (from > head || head - from > buffer_.control().ring_bytes) return 0;  // (never)
  Pending pending = {index, from, head};
  size_t accesses = 0;
  while (const uint8_t* record = next_record(pending)) {
    RecordHeader header;
    std::memcpy(&header, record, sizeof(header));
    if (header.size == 0) break;
    const auto kind = static_cast<RecordKind>(header.kind);
    if (kind == RecordKind::Read || kind == RecordKind::Write) {
      ++accesses;
    } else if ((kind == RecordKind::AccessRun && header.width != 0 &&
                header.size >= kAccessRunHeaderSize) ||
               (kind == RecordKind::StridedRun && header.size >= kStridedRunHeaderSize)) {
      accesses += record_event_count(record);
    }
    pending.position += header.size;
  }
  return accesses;
}

void TraceDrainer::recover_staged_accesses(uint32_t index, TraceWriter& writer) {
  const RingControl& ring = buffer_.control().rings[index];
  StagedAccessLog& staged = buffer_.staged_log(index);
  const AccessRecord* records = staged.records;
  auto span_at = [&](size_t i) { return access_record_span(records[i].info & kAccessWidthMask); };
  // The whole records the thread logged: each has an info, and is followed by its continuations.
  size_t count = 0;
  while (count < kAccessLogRecords && (records[count].info & kAccessWidthMask) != 0 &&
         span_at(count) <= kAccessLogRecords - count) {
    count += span_at(count);
  }
  // Those it was handing over when it died, and that its ring holds already.
  size_t first = 0;
  if (const uint64_t since = staged.handing_since.load(std::memory_order_acquire); since != 0) {
    for (size_t handed = accesses_since(index, since - 1); handed > 0 && first < count; --handed)
      first += span_at(first);
  }
  // The regions its records fall in: the last ones it named (but the oldest slot, which it may
  // have been overwriting).
  const uint64_t named = staged.regions_named.load(std::memory_order_acquire);
  auto region_of = [&](const AccessRecord& record) -> const StagedRegion* {
    const uint64_t width = record.info & kAccessWidthMask;
    const uint64_t oldest = named >= kStagedRegions ? named - (kStagedRegions - 1) : 0;
    for (uint64_t n = named; n > oldest; --n) {
      const StagedRegion& region = staged.regions[(n - 1) % kStagedRegions];
      if (record.address >= region.low && record.address - region.low < region.size &&
          width <= region.size - (record.address - region.low)) {
        return &region;
      }
    }
    return nullptr;
  };
  // Their time is unknown: between the thread's last hand-over and now, when it is found gone.
  const uint64_t now = monotonic_ns();
  uint64_t lost = 0;
  std::vector<uint8_t> encoded(access_run_size(kAccessLogRecords));
  for (size_t i = first; i < count;) {
    const StagedRegion* region = region_of(records[i]);
    const uint64_t width = records[i].info & kAccessWidthMask;
    if (region == nullptr) {
      ++lost;
      i += span_at(i);
      continue;
    }
    if (width > 8) {  // a vector's access: one event, its value in the continuations
      Event event;
      event.kind = (records[i].info & kAccessWrite) != 0 ? EventKind::Write : EventKind::Read;
      event.width = static_cast<uint8_t>(width);
      event.map_id = region->map_id;
      event.pid = ring.owner_pid;
      event.tid = ring.owner_tid;
      event.time_ns = now;
      event.virt = records[i].address;
      event.phys = region->phys + (records[i].address - region->low);
      event.pc = records[i].pc;
      std::memcpy(event.value, &records[i + 1], std::min<size_t>(width, sizeof(event.value)));
      writer.write_event(event);
      i += span_at(i);
      continue;
    }
    size_t end = i + 1;
    while (end < count && (records[end].info & kAccessWidthMask) <= 8 &&
           region_of(records[end]) == region) {
      ++end;
    }
    SmallAccessRun run;
    run.map_id = region->map_id;
    run.virt_base = region->low;
    run.virt_size = region->size;
    run.phys_base = region->phys;
    run.time_ns = now;
    run.pid = ring.owner_pid;
    run.tid = ring.owner_tid;
    run.records = records;
    run.count = count;
    writer.write_records(encoded.data(), encode_access_run(run, i, end - i, encoded.data()));
    i = end;
  }
  if (lost != 0) write_lost(writer, lost, ring.owner_pid, ring.owner_tid, now);
  // Taken: the ring's next thread starts with an empty log.
  staged.handing_since.store(0);
  staged.regions_named.store(0);
  std::memset(static_cast<void*>(staged.regions), 0, sizeof(staged.regions));
  std::memset(static_cast<void*>(staged.records), 0, sizeof(staged.records));
}

size_t TraceDrainer::reclaim(TraceWriter& writer) {
  BufferControl& control = buffer_.control();
  size_t live = 0;
  for (uint32_t i = 0; i < control.ring_count; ++i) {
    RingControl& ring = control.rings[i];
    if (ring.state.load() != kRingOwned) continue;
    if (process_alive(ring.owner_pid)) ++live;
    if (thread_alive(ring.owner_pid, ring.owner_tid)) continue;
    // The thread is gone: once its last records are drained, the ring is free again.
    if (ring.head.load(std::memory_order_acquire) != ring.tail.load(std::memory_order_relaxed)) {
      continue;
    }
    recover_staged_accesses(i, writer);
    report_ring_loss(ring, writer);
    ring.head.store(0);
    ring.tail.store(0);
    ring.tail_seen = 0;
    ring.state.store(kRingFree);
  }
  return live;
}

void TraceDrainer::report_losses(TraceWriter& writer) {
  BufferControl& control = buffer_.control();
  for (uint32_t i = 0; i < control.ring_count; ++i) {
    RingControl& ring = control.rings[i];
    if (ring.state.load() != kRingOwned) continue;
    if (!thread_alive(ring.owner_pid, ring.owner_tid)) recover_staged_accesses(i, writer);
    report_ring_loss(ring, writer);
  }
  uint64_t unrecorded = control.unrecorded.load();
  if (unrecorded > reported_unrecorded_) {
    write_lost(writer, unrecorded - reported_unrecorded_);
    reported_unrecorded_ = unrecorded;
  }
}

}  // namespace mmiotrace::trace
