// `mmiotrace report` (see report.hpp).
#include "analysis/report.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "analysis/device_registers.hpp"
#include "analysis/json_text.hpp"
#include "core/hex_text.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::analysis {
namespace {

// An access's value: a number up to 8 bytes, else its bytes in memory order.
std::string value_text(const trace::Event& event) {
  if (event.width <= 8) {
    uint64_t value = 0;
    std::memcpy(&value, event.value, event.width);
    return hex_text(value);
  }
  std::string text;
  for (unsigned i = 0; i < event.width && i < trace::kMaxEventWidth; ++i) {
    char byte[3];
    snprintf(byte, sizeof(byte), "%02x", event.value[i]);
    text += byte;
  }
  return text;
}

std::string seconds(uint64_t ns) {
  char text[32];
  snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64, ns / 1000000000, (ns / 1000) % 1000000);
  return text;
}

std::string widths_text(uint8_t widths) {
  std::string text;
  for (int bit = 0; bit < 7; ++bit) {
    if (!(widths & (1u << bit))) continue;
    if (!text.empty()) text += ",";
    text += std::to_string(1u << bit);
  }
  return text;
}

// The name of the register at `offset` of `mapping`: from the register maps (for the narrowest
// access seen there), else from the device model's map `model_map`.
std::string register_name(RegisterMapSet* register_maps, const MappingSummary& mapping,
                          const mmiotrace_register* model_map, uint64_t offset, uint8_t widths) {
  const unsigned width = widths != 0 ? 1u << __builtin_ctz(widths) : 1u;
  if (register_maps != nullptr) {
    std::string name =
        register_maps->register_name(mapping.map_id, mapping.phys + offset, width < 8 ? width : 8);
    if (!name.empty()) return name;
  }
  return device_register_name(model_map, offset, width);
}

// `value` as JSON text laid out as nlohmann's dump(indent) lays it out, its strings (and keys)
// written by append_json_text: nlohmann's own writer throws on bytes that are not UTF-8, which a
// trace's paths and device names may hold.
void append_json_value(std::string& out, const nlohmann::json& value, int indent, int depth) {
  auto new_line = [&](int level) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
  };
  if (value.is_string()) {
    out += '"';
    append_json_text(out, value.get_ref<const std::string&>());
    out += '"';
  } else if (value.is_object() && !value.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      if (!first) out += ',';
      first = false;
      new_line(depth + 1);
      out += '"';
      append_json_text(out, key);
      out += "\": ";
      append_json_value(out, item, indent, depth + 1);
    }
    new_line(depth);
    out += '}';
  } else if (value.is_array() && !value.empty()) {
    out += '[';
    bool first = true;
    for (const nlohmann::json& item : value) {
      if (!first) out += ',';
      first = false;
      new_line(depth + 1);
      append_json_value(out, item, indent, depth + 1);
    }
    new_line(depth);
    out += ']';
  } else {
    out += value.dump();  // numbers, booleans, null, {} and []: no strings inside
  }
}

}  // namespace

void ReportBuilder::add(const trace::Event& event) {
  Report& r = report_;
  ++r.events;
  if (event.kind != trace::EventKind::Lost && event.kind != trace::EventKind::PciDevice &&
      event.time_ns != 0) {
    r.first_ns = std::min(r.first_ns, event.time_ns);
    r.last_ns = std::max(r.last_ns, event.time_ns);
  }
  const int capture = r.captures - 1;
  auto mapping_of = [&r, capture](int map_id) -> MappingSummary& {
    MappingSummary& mapping = r.mappings[{capture, map_id}];
    mapping.map_id = map_id;
    mapping.capture = capture;
    return mapping;
  };
  switch (event.kind) {
    case trace::EventKind::Map: {
      MappingSummary& mapping = mapping_of(event.map_id);
      mapping.phys = event.phys;
      mapping.virt = event.virt;
      mapping.length = event.length;
      mapping.pid = event.pid;
      mapping.mapped = true;
      if (auto chosen = chosen_.find(event.map_id); chosen != chosen_.end())
        mapping.model_registers = chosen->second;
      break;
    }
    case trace::EventKind::Unmap:
      mapping_of(event.map_id).unmapped = true;
      break;
    case trace::EventKind::Read:
    case trace::EventKind::Write: {
      bool read = event.kind == trace::EventKind::Read;
      (read ? r.reads : r.writes)++;
      ThreadSummary& thread = r.threads[{event.pid, event.tid}];
      (read ? thread.reads : thread.writes)++;
      auto found = r.mappings.find({capture, event.map_id});
      if (found == r.mappings.end() || !found->second.mapped) {
        ++r.outside;
        break;
      }
      MappingSummary& mapping = found->second;
      ++mapping.accesses;
      RegisterSummary& reg = mapping.registers[event.phys - mapping.phys];
      (read ? reg.reads : reg.writes)++;
      if (event.width > 0) reg.widths |= static_cast<uint8_t>(1u << __builtin_ctz(event.width));
      reg.first_ns = std::min(reg.first_ns, event.time_ns);
      reg.last_ns = std::max(reg.last_ns, event.time_ns);
      if (!reg.more_values) {
        std::string value = value_text(event);
        if (std::find(reg.values.begin(), reg.values.end(), value) == reg.values.end()) {
          if (reg.values.size() < kMaxValuesKept) {
            reg.values.push_back(std::move(value));
            ++reg.distinct_values;
          } else {
            reg.more_values = true;
          }
        }
      }
      std::pair<int, uint64_t> where{event.pid, event.pc};
      auto pc = std::find_if(reg.pcs.begin(), reg.pcs.end(),
                             [&](const auto& entry) { return entry.first == where; });
      if (pc != reg.pcs.end()) {
        ++pc->second;
      } else if (reg.pcs.size() < kMaxPcsKept) {
        reg.pcs.push_back({where, 1});
      } else {
        reg.more_pcs = true;
      }
      break;
    }
    case trace::EventKind::Unknown:
      ++r.unknown;
      r.threads[{event.pid, event.tid}].unknown++;
      break;
    case trace::EventKind::Lost:
      r.lost += event.length;
      break;
    case trace::EventKind::Mark: {
      // The markers mmiotrace writes for its readers are bookkeeping, not markers.
      std::string_view text(event.text ? event.text : "", event.text_length);
      if (symbolizer_.add_marker(text)) break;
      if (std::optional<trace::ArchitectureMarker> arch = trace::parse_architecture_marker(text)) {
        r.architectures[arch->pid] = std::move(arch->name);
        break;
      }
      if (std::optional<trace::DeviceMarker> device = trace::parse_device_marker(text)) {
        MappingSummary& mapping = mapping_of(device->map_id);
        if (!chosen_.contains(device->map_id)) {
          TraceDeviceRegisters named = registers_of_trace_device(device->spec);
          mapping.model_registers = named.registers;
          if (!named.plugin.empty()) unloaded_plugins_[device->map_id] = named.plugin;
        }
        mapping.device = std::move(device->spec);
        break;
      }
      if (std::optional<trace::PciConfigMarker> config = trace::parse_pci_config_marker(text)) {
        if (config->kind != "contents") ++r.pci_config_accesses;
        break;
      }
      if (trace::parse_vfio_marker(text)) {
        ++r.vfio_requests;
        break;
      }
      ++r.marks;
      break;
    }
    case trace::EventKind::Ioctl:
      ++r.ioctls;
      break;
    case trace::EventKind::Segment:  // another capture: map ids start again
      ++r.captures;
      break;
    case trace::EventKind::PciDevice:
    case trace::EventKind::Comment:
      break;
  }
}

namespace {

// "  architecture: aarch64", or, when the trace's processes ran different instruction sets,
// "  architectures: x86_64 (pid 7), aarch64 (pids 8, 9)". Nothing for a trace without
// architecture markers (the kernel's, mmiotrace 0.2.0's: x86-64).
void write_architectures(const Report& report, FILE* out) {
  std::vector<std::pair<std::string, std::vector<int>>> by_name;  // in order of first pid
  for (const auto& [pid, name] : report.architectures) {
    auto found = std::find_if(by_name.begin(), by_name.end(),
                              [&name = name](const auto& entry) { return entry.first == name; });
    if (found == by_name.end()) found = by_name.insert(by_name.end(), {name, {}});
    found->second.push_back(pid);
  }
  if (by_name.empty()) return;
  if (by_name.size() == 1) {
    fprintf(out, "  architecture: %s\n", by_name[0].first.c_str());
    return;
  }
  std::string line = "  architectures:";
  for (const auto& [name, pids] : by_name) {
    line += (line.back() == ':' ? " " : ", ") + name + (pids.size() > 1 ? " (pids " : " (pid ");
    for (size_t i = 0; i < pids.size(); ++i)
      line += (i ? ", " : "") + std::to_string(pids[i]);
    line += ')';
  }
  fprintf(out, "%s\n", line.c_str());
}

}  // namespace

void write_report_text(const Report& report, Symbolizer& symbolizer, const std::string& trace,
                       FILE* out, RegisterMapSet* register_maps) {
  fprintf(out, "%s: %" PRIu64 " events", trace.c_str(), report.events);
  if (report.first_ns <= report.last_ns) {
    fprintf(out, " over %.6f s", static_cast<double>(report.last_ns - report.first_ns) / 1e9);
  }
  fprintf(out,
          "\n  %" PRIu64 " reads, %" PRIu64 " writes, %zu mappings, %zu threads, %" PRIu64
          " markers, %" PRIu64 " ioctls\n",
          report.reads, report.writes, report.mappings.size(), report.threads.size(), report.marks,
          report.ioctls);
  write_architectures(report, out);
  if (report.pci_config_accesses > 0) {
    fprintf(out, "  %" PRIu64 " accesses to the configuration space of virtual PCI functions\n",
            report.pci_config_accesses);
  }
  if (report.vfio_requests > 0) {
    fprintf(out, "  %" PRIu64 " requests to the emulated VFIO\n", report.vfio_requests);
  }
  if (report.unknown > 0) {
    fprintf(out,
            "  !!! %" PRIu64
            " UNKNOWN accesses: instructions whose values the trace does "
            "not hold (single-stepped, outside the MOV family)\n",
            report.unknown);
  }
  if (report.lost > 0) {
    fprintf(out,
            "  !!! %" PRIu64
            " events LOST: rings were full (recorded with --drop); the "
            "counts below miss them\n",
            report.lost);
  }
  if (report.outside > 0) {
    fprintf(out, "  !!! %" PRIu64 " accesses of mappings whose MAP is not in the trace\n",
            report.outside);
  }
  for (const auto& [key, mapping] : report.mappings) {
    const int map_id = mapping.map_id;
    std::string capture =
        report.captures > 1 ? " (capture " + std::to_string(mapping.capture + 1) + ")" : "";
    fprintf(out, "\nmap %d%s: phys %s, %s bytes at %s, pid %d%s%s%s\n", map_id, capture.c_str(),
            hex_text(mapping.phys).c_str(), hex_text(mapping.length).c_str(),
            hex_text(mapping.virt).c_str(), mapping.pid, mapping.device.empty() ? "" : ", device ",
            mapping.device.c_str(), mapping.unmapped ? "" : ", never unmapped");
    fprintf(out, "  %" PRIu64 " accesses to %zu registers\n", mapping.accesses,
            mapping.registers.size());
    const mmiotrace_register* names = mapping.model_registers;
    if (register_maps != nullptr) register_maps->mapped(map_id, mapping.phys);
    for (const auto& [offset, reg] : mapping.registers) {
      std::string name = register_name(register_maps, mapping, names, offset, reg.widths);
      fprintf(out, "  %-8s %-10s R %-8" PRIu64 " W %-8" PRIu64 " width %-6s first %s last %s\n",
              hex_text(offset).c_str(), name.c_str(), reg.reads, reg.writes,
              widths_text(reg.widths).c_str(), seconds(reg.first_ns).c_str(),
              seconds(reg.last_ns).c_str());
      std::string values;
      for (const std::string& value : reg.values)
        values += (values.empty() ? "" : " ") + value;
      fprintf(out, "           values (%s%" PRIu64 "): %s%s\n", reg.more_values ? "more than " : "",
              reg.distinct_values, values.c_str(), reg.more_values ? " ..." : "");
      for (const auto& [where, count] : reg.pcs) {
        fprintf(out, "           %8" PRIu64 " x %s\n", count,
                symbolizer.name(where.first, where.second).c_str());
      }
      if (reg.more_pcs) fprintf(out, "           ... and more instructions\n");
    }
  }
  if (!report.threads.empty()) fprintf(out, "\nthreads:\n");
  for (const auto& [id, thread] : report.threads) {
    fprintf(out, "  pid %-7d tid %-7d R %-10" PRIu64 " W %-10" PRIu64, id.first, id.second,
            thread.reads, thread.writes);
    if (thread.unknown) fprintf(out, " UNKNOWN %" PRIu64, thread.unknown);
    fprintf(out, "\n");
  }
}

void write_report_json(const Report& report, Symbolizer& symbolizer, const std::string& trace,
                       FILE* out, RegisterMapSet* register_maps) {
  using nlohmann::json;
  json root;
  root["trace"] = trace;
  root["events"] = report.events;
  root["reads"] = report.reads;
  root["writes"] = report.writes;
  root["unknown"] = report.unknown;
  root["lost"] = report.lost;
  root["markers"] = report.marks;
  root["ioctls"] = report.ioctls;
  root["pci_config_accesses"] = report.pci_config_accesses;
  root["vfio_requests"] = report.vfio_requests;
  if (!report.architectures.empty()) {
    json architectures = json::object();
    for (const auto& [pid, name] : report.architectures)
      architectures[std::to_string(pid)] = name;
    root["architectures"] = architectures;
  }
  root["outside_mappings"] = report.outside;
  if (report.first_ns <= report.last_ns) {
    root["first_ns"] = report.first_ns;
    root["last_ns"] = report.last_ns;
  }
  json mappings = json::array();
  for (const auto& [key, mapping] : report.mappings) {
    const int map_id = mapping.map_id;
    json entry = {{"map", map_id},
                  {"phys", hex_text(mapping.phys)},
                  {"virt", hex_text(mapping.virt)},
                  {"length", mapping.length},
                  {"pid", mapping.pid},
                  {"unmapped", mapping.unmapped},
                  {"accesses", mapping.accesses}};
    if (report.captures > 1) entry["capture"] = mapping.capture + 1;
    if (!mapping.device.empty()) entry["device"] = mapping.device;
    const mmiotrace_register* names = mapping.model_registers;
    if (register_maps != nullptr) register_maps->mapped(map_id, mapping.phys);
    json registers = json::array();
    for (const auto& [offset, reg] : mapping.registers) {
      json pcs = json::array();
      for (const auto& [where, count] : reg.pcs) {
        pcs.push_back({{"pid", where.first},
                       {"pc", hex_text(where.second)},
                       {"symbol", symbolizer.name(where.first, where.second)},
                       {"accesses", count}});
      }
      json widths = json::array();
      for (int bit = 0; bit < 7; ++bit) {
        if (reg.widths & (1u << bit)) widths.push_back(1u << bit);
      }
      json item = {{"offset", hex_text(offset)},     {"reads", reg.reads},
                   {"writes", reg.writes},           {"widths", widths},
                   {"values", reg.values},           {"distinct_values", reg.distinct_values},
                   {"more_values", reg.more_values}, {"first_ns", reg.first_ns},
                   {"last_ns", reg.last_ns},         {"pcs", pcs},
                   {"more_pcs", reg.more_pcs}};
      std::string name = register_name(register_maps, mapping, names, offset, reg.widths);
      if (!name.empty()) item["register"] = name;
      registers.push_back(std::move(item));
    }
    entry["registers"] = std::move(registers);
    mappings.push_back(std::move(entry));
  }
  root["mappings"] = std::move(mappings);
  json threads = json::array();
  for (const auto& [id, thread] : report.threads) {
    threads.push_back({{"pid", id.first},
                       {"tid", id.second},
                       {"reads", thread.reads},
                       {"writes", thread.writes},
                       {"unknown", thread.unknown}});
  }
  root["threads"] = std::move(threads);
  std::string text;
  append_json_value(text, root, 2, 0);
  text += '\n';
  fwrite(text.data(), 1, text.size(), out);
}

}  // namespace mmiotrace::analysis
