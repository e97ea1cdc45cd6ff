// mmiotrace: signal-safe, vector-free
// From a probe hit to an event (see recorder_handlers.hpp), and the parts of Recorder that any
// context may use.
#include "recorder/recorder_handlers.hpp"

#include <atomic>
#include <cstring>

#include "arch/code_cache.hpp"
#include "core/access_context.hpp"
#include "core/monotonic_clock.hpp"
#include "core/small_copy.hpp"
#include "core/syscall.hpp"
#include "recorder/recorder.hpp"
#include "recorder/ring_sink.hpp"

namespace mmiotrace::recorder {
namespace {

constinit std::atomic<int> g_own_last_map_id{0};
constinit std::atomic<std::atomic<int>*> g_last_map_id{&g_own_last_map_id};

}  // namespace

int next_map_id() {
  return g_last_map_id.load()->fetch_add(1) + 1;
}

void share_map_ids(std::atomic<int>* last_map_id) {
  g_last_map_id.store(last_map_id);
}

void record_access(mmiotrace_probe* probe, const mmiotrace_access* access, void* /*ucontext*/) {
  const auto* mapping = static_cast<const TracedMapping*>(probe->user_data);
  trace::Event event;
  uint64_t made_at = this_thread_access().time_ns;
  event.time_ns = made_at != 0 ? made_at : monotonic_ns();
  event.map_id = mapping->map_id;
  event.pid = current_pid();
  event.tid = current_tid();
  event.pc = access->pc;
  // An access that runs into the mapping from below is placed at its first traced byte.
  uintptr_t address =
      mapping->range.contains(access->address) ? access->address : access->fault_address;
  event.virt = address;
  event.phys = mapping->phys + (address - mapping->range.begin);
  bool plain = access->kind == MMIOTRACE_ACCESS_READ || access->kind == MMIOTRACE_ACCESS_WRITE;
  if (access->value_known && plain && access->width <= trace::kMaxEventWidth) {
    event.kind =
        access->kind == MMIOTRACE_ACCESS_READ ? trace::EventKind::Read : trace::EventKind::Write;
    event.width = static_cast<uint8_t>(access->width);
    copy_small(event.value, access->value.bytes, access->width);
  } else {
    event.kind = trace::EventKind::Unknown;
    event.insn_length = access->insn_length;
    std::memcpy(event.insn, access->insn, sizeof(access->insn));  // and the code after it
  }
  mapping->recorder->sink().write(event);
}

size_t record_logged_accesses(mmiotrace_probe* probe, const AccessRecord* records, size_t count,
                              uint64_t time_ns) {
  const auto* mapping = static_cast<const TracedMapping*>(probe->user_data);
  trace::SmallAccessRun run;
  run.map_id = mapping->map_id;
  run.virt_base = mapping->range.begin;  // the probe's range
  run.virt_size = mapping->range.size();
  run.phys_base = mapping->phys;
  run.time_ns = time_ns;
  run.pid = current_pid();
  run.tid = current_tid();
  run.records = records;
  run.count = count;
  return mapping->recorder->sink().write_small_accesses(run);
}

void name_staged_region(const mmiotrace_probe* probe, uint64_t low, uint64_t size) {
  StagedAccessLog* staged = arch::this_thread_access_log().staged;
  if (staged == nullptr || probe->post_handler != &record_access) return;
  const auto* mapping = static_cast<const TracedMapping*>(probe->user_data);
  const StagedRegion named = {low, size, mapping->phys + (low - mapping->range.begin),
                              mapping->map_id, 0};
  const uint64_t count = staged->regions_named.load(std::memory_order_relaxed);
  if (count > 0) {
    const StagedRegion& last = staged->regions[(count - 1) % kStagedRegions];
    if (last.low == low && last.size == size && last.map_id == named.map_id) return;
  }
  staged->regions[count % kStagedRegions] = named;
  staged->regions_named.store(count + 1, std::memory_order_release);
}

void Recorder::mark(const char* text, size_t length) {
  trace::Event event;
  event.kind = trace::EventKind::Mark;
  event.time_ns = monotonic_ns();
  event.pid = current_pid();
  event.tid = current_tid();
  event.text = text;
  event.text_length = static_cast<uint32_t>(length);
  sink_.write(event);
}

}  // namespace mmiotrace::recorder
