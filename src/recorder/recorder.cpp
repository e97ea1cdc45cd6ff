// Starting and stopping traced mappings (see recorder.hpp). Normal context.
#include "recorder/recorder.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/monotonic_clock.hpp"
#include "core/syscall.hpp"
#include "kmmio/code_cache.hpp"
#include "recorder/recorder_handlers.hpp"
#include "recorder/ring_sink.hpp"

namespace mmiotrace::recorder {

namespace {

trace::Event mapping_event(trace::EventKind kind, int map_id, uintptr_t pc) {
  trace::Event event;
  event.kind = kind;
  event.time_ns = monotonic_ns();
  event.map_id = map_id;
  event.pc = pc;
  event.pid = current_pid();
  event.tid = current_tid();
  return event;
}

}  // namespace

Recorder::Recorder(trace::TraceSink& sink) : sink_(sink) {
  kmmio::set_access_batch_handler(&record_access, &record_logged_accesses);
}

TracedMapping* Recorder::attach(int map_id, const MappingSpec& spec, int* error) {
  auto mapping = std::make_unique<TracedMapping>();
  mapping->recorder = this;
  mapping->map_id = map_id;
  mapping->range = spec.range;
  mapping->phys = spec.phys;
  mapping->probe.addr = spec.range.begin;
  mapping->probe.len = spec.range.size();
  mapping->probe.post_handler = &record_access;
  mapping->probe.user_data = mapping.get();
  mapping->probe.alias = spec.alias;
  *error = spec.backend != nullptr
               ? kmmio::register_probe_with_backend(&mapping->probe, spec.backend, spec.protection)
               : kmmio::register_probe(&mapping->probe, spec.protection);
  return *error == 0 ? mapping.release() : nullptr;
}

void Recorder::detach(TracedMapping* mapping, kmmio::Disarm disarm) {
  kmmio::unregister_probe(&mapping->probe, disarm);
  delete mapping;
}

TracedMapping* Recorder::start(const MappingSpec& spec, uintptr_t pc, int* error) {
  trace::Event map = mapping_event(trace::EventKind::Map, next_map_id(), pc);
  map.phys = spec.phys;
  map.virt = spec.range.begin;
  map.length = spec.range.size();
  sink_.write(map);
  TracedMapping* mapping = attach(map.map_id, spec, error);
  if (mapping == nullptr) sink_.write(mapping_event(trace::EventKind::Unmap, map.map_id, pc));
  return mapping;
}

void Recorder::stop(TracedMapping* mapping, uintptr_t pc, kmmio::Disarm disarm) {
  int map_id = mapping->map_id;
  detach(mapping, disarm);
  sink_.write(mapping_event(trace::EventKind::Unmap, map_id, pc));
}

void Recorder::record_block(const TracedMapping& mapping, uintptr_t address, const uint8_t* bytes,
                            size_t size, bool write, uintptr_t pc) {
  trace::Event event =
      mapping_event(write ? trace::EventKind::Write : trace::EventKind::Read, mapping.map_id, pc);
  for (size_t done = 0; done < size;) {
    // Naturally aligned pieces of 1 to 64 bytes, as a copy loop would make them (and as the
    // kernel's text format can state them: widths of 1, 2, 4, or multiples of 8).
    uintptr_t at = address + done;
    size_t chunk = trace::kMaxEventWidth;
    while (chunk > 1 && (at % chunk != 0 || size - done < chunk))
      chunk /= 2;
    event.width = static_cast<uint8_t>(chunk);
    event.virt = at;
    event.phys = mapping.phys + (at - mapping.range.begin);
    std::memcpy(event.value, bytes + done, chunk);
    sink_.write(event);
    done += chunk;
  }
}

void Recorder::record_ioctl(trace::Event event) {
  event.kind = trace::EventKind::Ioctl;
  event.time_ns = monotonic_ns();
  event.pid = current_pid();
  event.tid = current_tid();
  sink_.write(event);
}

}  // namespace mmiotrace::recorder
