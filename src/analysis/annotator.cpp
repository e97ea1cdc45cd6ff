// Annotating a trace's accesses with register names (see annotator.hpp).
#include "analysis/annotator.hpp"

#include <cstring>
#include <optional>

#include "analysis/device_registers.hpp"
#include "core/fixed_text.hpp"
#include "trace/markers.hpp"
#include "trace/text_format.hpp"

namespace mmiotrace::analysis {
namespace {

void format(const trace::Event& event, std::string& out) {
  char buffer[trace::kMaxFormattedEvent];
  TextSpan span(buffer, sizeof(buffer));
  trace::format_text(event, span);
  out.append(span.view());
}

}  // namespace

Annotator::Annotator(const std::map<int, const mmiotrace_register*>& chosen,
                     RegisterMapSet& register_maps)
    : register_maps_(register_maps) {
  for (const auto& [map_id, registers] : chosen) {
    mappings_[map_id].registers = registers;
    mappings_[map_id].chosen = true;
  }
}

void Annotator::write(const trace::Event& event, std::string& out) {
  if (event.kind == trace::EventKind::Map) {
    Mapping& mapping = mappings_[event.map_id];
    mapping.phys = event.phys;
    mapping.mapped = true;
    register_maps_.mapped(event.map_id, event.phys);
  } else if (event.kind == trace::EventKind::Segment) {  // another capture: its own map ids
    std::erase_if(mappings_, [](const auto& entry) { return !entry.second.chosen; });
    for (auto& [map_id, mapping] : mappings_)
      mapping.mapped = false;
  } else if (event.kind == trace::EventKind::Mark && event.text != nullptr) {
    std::optional<trace::DeviceMarker> device =
        trace::parse_device_marker({event.text, event.text_length});
    if (device) {
      Mapping& mapping = mappings_[device->map_id];
      if (!mapping.chosen) {
        TraceDeviceRegisters named = registers_of_trace_device(device->spec);
        mapping.registers = named.registers;
        if (!named.plugin.empty()) unloaded_plugins_[device->map_id] = named.plugin;
      }
    }
  }
  if (event.kind != trace::EventKind::Read && event.kind != trace::EventKind::Write) {
    format(event, out);
    return;
  }
  auto found = mappings_.find(event.map_id);
  const Mapping* mapping =
      found != mappings_.end() && found->second.mapped ? &found->second : nullptr;
  for (unsigned offset = 0; offset < event.width; offset += 8) {
    trace::Event piece = event;
    piece.width = static_cast<uint8_t>(event.width - offset < 8 ? event.width - offset : 8);
    piece.phys = event.phys + offset;
    memcpy(piece.value, event.value + offset, piece.width);
    format(piece, out);
    std::string name = name_of(mapping, event.map_id, piece);
    if (name.empty()) continue;
    out.resize(out.size() - 1);  // its newline
    out += "  ; ";
    out += name;
    out += '\n';
  }
}

// What names the access: the register maps (--regs), then the mapping's device model; empty
// when nothing does.
std::string Annotator::name_of(const Mapping* mapping, int map_id,
                               const trace::Event& piece) const {
  uint64_t value = 0;
  memcpy(&value, piece.value, piece.width);
  auto direction =
      piece.kind == trace::EventKind::Read ? AccessDirection::Read : AccessDirection::Write;
  std::string name = register_maps_.describe(map_id, piece.phys, piece.width, value, direction);
  if (!name.empty() || mapping == nullptr) return name;
  return device_register_name(mapping->registers, piece.phys - mapping->phys, piece.width);
}

}  // namespace mmiotrace::analysis
