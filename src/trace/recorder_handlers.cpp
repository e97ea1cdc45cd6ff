// mmiotrace: signal-safe
// From a probe hit to an event (see recorder_handlers.hpp), and the parts of Recorder that any
// context may use.
#include "trace/recorder_handlers.hpp"

#include <atomic>
#include <cstring>

#include "core/access_context.hpp"
#include "core/monotonic_clock.hpp"
#include "core/syscall.hpp"
#include "trace/recorder.hpp"
#include "trace/ring_sink.hpp"

namespace mmiotrace::trace {
namespace {

constinit std::atomic<int> g_own_last_map_id{0};
constinit std::atomic<std::atomic<int>*> g_last_map_id{&g_own_last_map_id};

}  // namespace

int next_map_id() { return g_last_map_id.load()->fetch_add(1) + 1; }

void share_map_ids(std::atomic<int>* last_map_id) { g_last_map_id.store(last_map_id); }

void record_access(mmiotrace_probe* probe, const mmiotrace_access* access, void* /*ucontext*/) {
  const auto* mapping = static_cast<const TracedMapping*>(probe->user_data);
  Event event;
  uint64_t made_at = this_thread_access().time_ns;
  event.time_ns = made_at != 0 ? made_at : monotonic_ns();
  event.map_id = mapping->map_id;
  event.pid = current_pid();
  event.tid = current_tid();
  event.pc = access->pc;
  // An access that runs into the mapping from below is placed at its first traced byte.
  uintptr_t address = mapping->range.contains(access->address) ? access->address
                                                                : access->fault_address;
  event.virt = address;
  event.phys = mapping->phys + (address - mapping->range.begin);
  bool plain = access->kind == MMIOTRACE_ACCESS_READ || access->kind == MMIOTRACE_ACCESS_WRITE;
  if (access->value_known && plain && access->width <= kMaxEventWidth) {
    event.kind = access->kind == MMIOTRACE_ACCESS_READ ? EventKind::Read : EventKind::Write;
    event.width = static_cast<uint8_t>(access->width);
    std::memcpy(event.value, access->value.bytes, access->width);
  } else {
    event.kind = EventKind::Unknown;
    event.insn_length = access->insn_length;
    std::memcpy(event.insn, access->insn, access->insn_length);
  }
  mapping->recorder->sink().write(event);
}

void record_diverted_accesses(mmiotrace_probe* probe, const x86::DivertRecord* records,
                              size_t count, uint64_t time_ns) {
  const auto* mapping = static_cast<const TracedMapping*>(probe->user_data);
  // Events per ring reservation. This may run in a signal handler, on a program's alternate
  // signal stack: 8 events (1.6 KB) keep the frame small.
  constexpr size_t kBatch = 8;
  Event batch[kBatch];
  for (Event& event : batch) {
    event.time_ns = time_ns;
    event.map_id = mapping->map_id;
    event.pid = current_pid();
    event.tid = current_tid();
  }
  for (size_t done = 0; done < count;) {
    size_t n = count - done < kBatch ? count - done : kBatch;
    for (size_t i = 0; i < n; ++i) {
      const x86::DivertRecord& record = records[done + i];
      Event& event = batch[i];
      event.kind = (record.info & x86::kDivertWrite) ? EventKind::Write : EventKind::Read;
      event.width = static_cast<uint8_t>(record.info & 0xff);
      event.pc = record.pc;
      event.virt = record.address;
      event.phys = mapping->phys + (record.address - mapping->range.begin);
      std::memcpy(event.value, &record.value, sizeof(record.value));
    }
    mapping->recorder->sink().write_many(batch, n);
    done += n;
  }
}

void Recorder::mark(const char* text, size_t length) {
  Event event;
  event.kind = EventKind::Mark;
  event.time_ns = monotonic_ns();
  event.pid = current_pid();
  event.tid = current_tid();
  event.text = text;
  event.text_length = static_cast<uint32_t>(length);
  sink_.write(event);
}

}  // namespace mmiotrace::trace
