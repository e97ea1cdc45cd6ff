// `mmiotrace replay`: serves a recorded trace back to a driver. The accesses of the chosen
// mappings are laid out in a replay script (backend/replay_script.hpp) that the command's
// processes share; the shim makes each mapping's path a virtual device answered from it. Reads
// get the recorded values, in order; writes are compared; the first divergence stops the
// program and is reported with both accesses, the PC and the position in the trace.
// (Declared in subcommands.hpp, with the other subcommands.)
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "backend/replay_script.hpp"
#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/pci_option.hpp"
#include "cli/recording.hpp"
#include "cli/subcommands.hpp"
#include "core/hex_text.hpp"
#include "devices/model_catalog.hpp"
#include "trace/markers.hpp"
#include "trace/pci_devices.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::cli {

namespace {

struct MapChoice {
  int map_id;
  std::string path;
};

struct ReplayOptions {
  std::string trace;
  std::vector<MapChoice> maps;
  std::vector<PciConfigChoice> pci_configs;  // --pci-config
  RecordOptions record;
};

MapChoice parse_map(const std::string& text) {
  size_t at = text.find('@');
  char* end = nullptr;
  long id = at == std::string::npos ? 0 : strtol(text.substr(0, at).c_str(), &end, 10);
  if (at == std::string::npos || at == 0 || *end != '\0' || id <= 0 || text.size() == at + 1 ||
      text[at + 1] != '/') {
    throw CliError(kExitUsage, "replay: --map '" + text +
                                   "' is not MAPID@PATH (a map id from the trace's MAP lines, "
                                   "and an absolute path)");
  }
  return {static_cast<int>(id), text.substr(at + 1)};
}

// TRACE, options before or after it, COMMAND (after "--", or the operand after TRACE): from
// COMMAND on, every argument is COMMAND's own.
ReplayOptions parse(const Arguments& arguments) {
  ReplayOptions options;
  options.record.output = "/dev/null";
  std::optional<trace::TraceFormat> format_given;
  ArgumentReader reader("replay", arguments, 1);
  while (reader.next_option()) {
    if (auto map = reader.take_value("--map")) {
      options.maps.push_back(parse_map(*map));
    } else if (auto config = reader.take_value("--pci-config")) {
      options.pci_configs.push_back(parse_pci_config_choice(*config));
    } else if (auto output = reader.take_value("--output", "-o")) {
      options.record.output = *output;
    } else if (auto format = reader.take_value("--format")) {
      if (*format == "text") {
        format_given = trace::TraceFormat::Text;
      } else if (*format == "binary") {
        format_given = trace::TraceFormat::Binary;
      } else {
        throw CliError(kExitUsage,
                       "replay: unknown format '" + *format + "'; use 'text' or 'binary'");
      }
    } else {
      reader.reject_option();
    }
  }
  if (reader.operands().empty()) {
    throw CliError(kExitUsage,
                   "replay: no trace given; usage: mmiotrace replay TRACE [--map "
                   "MAPID@PATH]... [--] COMMAND [ARGS]");
  }
  options.trace = reader.operands()[0];
  choose_output_format(options.record, format_given, false, "replay");
  options.record.command = reader.rest();
  if (options.record.command.empty()) {
    throw CliError(kExitUsage,
                   "replay: no command to run; usage: mmiotrace replay TRACE "
                   "[--map MAPID@PATH]... [--] COMMAND [ARGS]");
  }
  return options;
}

// What the trace holds for replay: its mappings and their accesses, in order, and the devices
// it names ("device MODEL@PATH is map N" markers).
struct RecordedMap {
  uint64_t phys = 0;
  uint64_t length = 0;
  std::vector<backend::ReplayAccess> accesses;
};

struct RecordedTrace {
  std::map<int, RecordedMap> maps;
  std::map<int, std::string> device_paths;
  std::vector<std::string> pci_lines;              // PCIDEV
  std::map<std::string, std::string> pci_configs;  // function: its configuration space
  backend::PositionKind position_kind = backend::PositionKind::Line;
};

uint64_t position_number(const std::string& position) {
  return std::strtoull(position.c_str() + position.rfind(' ') + 1, nullptr, 10);
}

RecordedTrace read_trace(const std::string& path) {
  RecordedTrace recorded;
  try {
    auto reader = trace::TraceReader::open(path);
    if (reader->format() == trace::TraceFormat::Binary) {
      recorded.position_kind = backend::PositionKind::Offset;
    }
    trace::Event event;
    while (reader->next(event)) {
      switch (event.kind) {
        case trace::EventKind::Map: {
          RecordedMap& map = recorded.maps[event.map_id];
          map.phys = event.phys;
          map.length = event.length;
          break;
        }
        case trace::EventKind::Read:
        case trace::EventKind::Write: {
          auto found = recorded.maps.find(event.map_id);
          if (found == recorded.maps.end()) break;  // outside every mapping: nothing to serve
          backend::ReplayAccess access;
          access.write = event.kind == trace::EventKind::Write ? 1 : 0;
          access.width = event.width;
          access.offset = event.phys - found->second.phys;
          access.pc = event.pc;
          std::string position = reader->position();
          if (position.rfind("record", 0) == 0)
            recorded.position_kind = backend::PositionKind::RecordOffset;
          access.position = position_number(position);
          memcpy(access.value, event.value, event.width);
          found->second.accesses.push_back(access);
          break;
        }
        case trace::EventKind::PciDevice:
          recorded.pci_lines.emplace_back(event.text ? event.text : "", event.text_length);
          break;
        case trace::EventKind::Mark: {
          std::string text(event.text ? event.text : "", event.text_length);
          if (auto config = trace::parse_pci_config_marker(text);
              config && config->kind == "contents") {
            std::string& space = recorded.pci_configs[config->function];
            if (space.size() < config->offset + config->bytes.size()) {
              space.resize(config->offset + config->bytes.size());
            }
            space.replace(config->offset, config->bytes.size(), config->bytes);
          }
          std::optional<trace::DeviceMarker> device = trace::parse_device_marker(text);
          std::string error;
          std::optional<devices::DeviceSpec> spec;
          if (device && (spec = devices::parse_device_spec(device->spec, &error))) {
            recorded.device_paths[device->map_id] = spec->path;
          }
          break;
        }
        case trace::EventKind::Segment:
          // Its map ids start again: which mapping an access answers would be a guess.
          throw trace::TraceReadError(path + ": " + reader->position() +
                                      ": another capture starts here; replay replays one "
                                      "capture (split the file at its second VERSION line)");
        default:
          break;
      }
    }
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("replay: ") + error.what());
  }
  return recorded;
}

// The script in a memfd, for the command's processes to map.
int write_script(const RecordedTrace& recorded, const std::vector<MapChoice>& choices,
                 backend::ReplayHeader** script_out, size_t* size_out) {
  uint64_t total = 0;
  for (const MapChoice& choice : choices)
    total += recorded.maps.at(choice.map_id).accesses.size();
  size_t size = backend::ReplayHeader::bytes_for(total);
  int fd = memfd_create("mmiotrace-replay", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
    throw CliError(kExitCannotTrace,
                   std::string("replay: cannot make the replay script: ") + strerror(errno));
  }
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) {
    throw CliError(kExitCannotTrace,
                   std::string("replay: cannot map the replay script: ") + strerror(errno));
  }
  auto* script = new (memory) backend::ReplayHeader();
  memcpy(script->magic, backend::kReplayMagic, sizeof(script->magic));
  script->version = backend::kReplayVersion;
  script->position_kind = recorded.position_kind;
  uint64_t next = 0;
  for (const MapChoice& choice : choices) {
    const RecordedMap& recorded_map = recorded.maps.at(choice.map_id);
    backend::ReplayMap& map = script->maps[script->map_count++];
    map.map_id = choice.map_id;
    map.phys = recorded_map.phys;
    map.length = recorded_map.length;
    map.first = next;
    map.count = recorded_map.accesses.size();
    snprintf(map.path, sizeof(map.path), "%s", choice.path.c_str());
    for (const backend::ReplayAccess& access : recorded_map.accesses) {
      new (&script->accesses()[next++]) backend::ReplayAccess(access);
    }
  }
  *script_out = script;
  *size_out = size;
  return fd;
}

std::string describe(const backend::ReplayAccess& access) {
  std::string text = std::string(access.write ? "W " : "R ") + std::to_string(access.width) +
                     " at offset " + hex_text(access.offset);
  if (access.width <= 8) {
    uint64_t value = 0;
    memcpy(&value, access.value, access.width);
    text += (access.write ? " writing " : " reading ") + hex_text(value);
  } else {
    text += access.write ? " writing" : " reading";
    for (unsigned i = 0; i < access.width; ++i) {
      char byte[4];
      snprintf(byte, sizeof(byte), "%s%02x", i ? "" : " ", access.value[i]);
      text += byte;
    }
  }
  return text + " from PC " + hex_text(access.pc);
}

std::string position_text(backend::PositionKind kind, uint64_t position) {
  switch (kind) {
    case backend::PositionKind::Line:
      return "line " + std::to_string(position);
    case backend::PositionKind::Offset:
      return "offset " + std::to_string(position);
    case backend::PositionKind::RecordOffset:
      return "record offset " + std::to_string(position);
  }
  return "";
}

// The report of a divergence: which map, where in the trace, what was recorded and what the
// program did.
void report_divergence(const std::string& trace_path, const backend::ReplayHeader& script,
                       const backend::ReplayMap& map, backend::DivergenceReason reason,
                       uint64_t index, const backend::ReplayAccess* actual, int pid) {
  const backend::ReplayAccess* recorded =
      index < map.count ? &script.accesses()[map.first + index] : nullptr;
  std::string where = "map " + std::to_string(map.map_id) + " (" + map.path + "), access " +
                      std::to_string(index + 1) + " of " + std::to_string(map.count);
  std::string head = "mmiotrace: replay: ";
  switch (reason) {
    case backend::DivergenceReason::Mismatch:
      head += "the program diverged from " + trace_path + " at " +
              position_text(script.position_kind, recorded->position) + ", " + where;
      break;
    case backend::DivergenceReason::PastTheEnd:
      head += "the program accessed " + std::string(map.path) + " after the last of the " +
              std::to_string(map.count) + " accesses recorded for map " +
              std::to_string(map.map_id) + " in " + trace_path;
      break;
    case backend::DivergenceReason::EndedEarly:
      head += "the program ended before " + trace_path + "'s " +
              position_text(script.position_kind, recorded->position) + ", " + where;
      break;
    case backend::DivergenceReason::None:
      break;
  }
  fprintf(stderr, "%s\n", head.c_str());
  if (recorded != nullptr) fprintf(stderr, "  recorded: %s\n", describe(*recorded).c_str());
  if (actual != nullptr) {
    fprintf(stderr, "  program:  %s (pid %d)\n", describe(*actual).c_str(), pid);
  } else {
    fprintf(stderr, "  program:  no further access\n");
  }
}

// The PCI functions whose BARs the chosen maps are (their paths are /sys/devices/.../resourceN
// of a function the trace's PCIDEV lines describe): put back on the bus for the command.
VirtualPciBus replayed_pci_bus(const RecordedTrace& recorded, const std::vector<MapChoice>& maps) {
  std::vector<ReplayedPciFunction> functions;
  for (const MapChoice& choice : maps) {
    if (choice.path.rfind("/sys/devices/pci", 0) != 0) continue;
    size_t slash = choice.path.rfind('/');
    std::string file = choice.path.substr(slash + 1);
    std::string folder = choice.path.substr(0, slash);
    std::string name = folder.substr(folder.rfind('/') + 1);
    std::optional<devices::PciAddress> address = devices::parse_pci_address(name, nullptr);
    if (!address || file.size() != 9 || file.rfind("resource", 0) != 0 || file[8] < '0' ||
        file[8] > '5') {
      continue;
    }
    for (const std::string& line : recorded.pci_lines) {
      trace::PciDeviceFields pcidev = replayed_pci_device(line);
      if (pcidev.bus == address->bus && pcidev.devfn == (address->slot << 3 | address->function)) {
        ReplayedPciFunction function;
        function.pcidev = std::move(pcidev);
        function.address = *address;
        function.bar = static_cast<unsigned>(file[8] - '0');
        auto config = recorded.pci_configs.find(name);
        if (config != recorded.pci_configs.end()) function.config = config->second;
        functions.push_back(function);
        break;
      }
    }
  }
  const char* sysfs = getenv("MMIOTRACE_SYSFS");
  return plan_replayed_pci_bus(functions, sysfs && *sysfs ? sysfs : "/sys");
}

// A trace made on hardware (the kernel's, or one of a device mmiotrace did not model) names no
// device files, but its PCIDEV lines say which memory BAR each mapping lies in: the program is
// to reach that BAR through its function's resourceN. The mapping is rebased to the BAR's
// start, where a program that maps the whole BAR begins.
std::vector<MapChoice> maps_in_pci_bars(RecordedTrace& recorded) {
  std::vector<trace::PciDeviceFields> functions;
  for (const std::string& line : recorded.pci_lines)
    functions.push_back(replayed_pci_device(line));
  // The function and BAR `map` lies in, if any.
  auto bar_of =
      [&](const RecordedMap& map) -> std::optional<std::pair<const trace::PciDeviceFields*, int>> {
    for (const trace::PciDeviceFields& function : functions) {
      for (int bar = 0; bar < 6; ++bar) {
        const uint64_t base = function.base[bar] & ~uint64_t{0xf};
        const uint64_t size = function.size[bar];
        if ((function.base[bar] & 1) == 0 && size != 0 && map.phys >= base &&
            map.phys - base < size && map.length <= size - (map.phys - base)) {
          return std::make_pair(&function, bar);
        }
      }
    }
    return std::nullopt;
  };
  std::vector<MapChoice> choices;
  for (auto& [map_id, map] : recorded.maps) {
    auto found = bar_of(map);
    if (!found) continue;
    const auto [function, bar] = *found;
    const uint64_t from_base = map.phys - (function->base[bar] & ~uint64_t{0xf});
    for (backend::ReplayAccess& access : map.accesses)
      access.offset += from_base;
    map.phys -= from_base;
    map.length += from_base;
    const devices::PciAddress address = pci_address_of(*function);
    choices.push_back({map_id, "/sys/devices/" + address.root_text() + "/" + address.text() +
                                   "/resource" + std::to_string(bar)});
  }
  return choices;
}

}  // namespace

int run_replay(const Arguments& arguments) {
  ReplayOptions options = parse(arguments);
  RecordedTrace recorded = read_trace(options.trace);
  if (options.maps.empty()) {
    for (const auto& [map_id, path] : recorded.device_paths)
      options.maps.push_back({map_id, path});
    if (options.maps.empty()) options.maps = maps_in_pci_bars(recorded);
    if (options.maps.empty()) {
      throw CliError(kExitUsage, "replay: " + options.trace +
                                     " names no device paths, and none of its mappings lies in "
                                     "a BAR of its PCIDEV lines; say which mapping the program "
                                     "reaches where with --map MAPID@PATH");
    }
  }
  if (options.maps.size() > backend::kMaxReplayMaps) {
    throw CliError(kExitUsage, "replay: at most " + std::to_string(backend::kMaxReplayMaps) +
                                   " mappings at once");
  }
  for (const MapChoice& choice : options.maps) {
    if (!recorded.maps.count(choice.map_id)) {
      throw CliError(kExitUsage, "replay: " + options.trace + " has no map " +
                                     std::to_string(choice.map_id) + " (see its MAP lines)");
    }
    if (choice.path.size() >= backend::kMaxReplayPath) {
      throw CliError(kExitUsage, "replay: the path '" + choice.path + "' is too long");
    }
    options.record.devices.push_back("replay:" + std::to_string(choice.map_id) + "@" + choice.path);
  }
  for (const PciConfigChoice& choice : options.pci_configs)
    recorded.pci_configs[choice.address.text()] = choice.config;
  options.record.pci = replayed_pci_bus(recorded, options.maps);
  for (const PciConfigChoice& choice : options.pci_configs) {
    if (std::none_of(options.record.pci.functions.begin(), options.record.pci.functions.end(),
                     [&](const devices::PciFunction& function) {
                       return function.address == choice.address;
                     })) {
      throw CliError(kExitUsage, "replay: --pci-config names " + choice.address.text() +
                                     ", which " + options.trace +
                                     " does not put back (no mapping served lies in its BARs)");
    }
  }
  backend::ReplayHeader* script = nullptr;
  size_t script_size = 0;
  options.record.replay_fd = write_script(recorded, options.maps, &script, &script_size);
  RecordingOutcome outcome;
  try {
    outcome = run_recording(options.record);
  } catch (const CliError& error) {
    throw CliError(error.exit_status(), std::string("replay: ") + error.what());
  }
  if (script->diverged.load() == 2) {
    const backend::ReplayDivergence& divergence = script->divergence;
    for (uint32_t i = 0; i < script->map_count; ++i) {
      if (script->maps[i].map_id != divergence.map_id) continue;
      report_divergence(options.trace, *script, script->maps[i], divergence.reason,
                        divergence.index, &divergence.actual, divergence.pid);
    }
    return kExitReplayDiverged;
  }
  for (uint32_t i = 0; i < script->map_count; ++i) {
    const backend::ReplayMap& map = script->maps[i];
    uint64_t served = map.next.load();
    if (served < map.count) {
      report_divergence(options.trace, *script, map, backend::DivergenceReason::EndedEarly, served,
                        nullptr, 0);
      return kExitReplayDiverged;
    }
  }
  if (outcome.write_failed) {
    fprintf(stderr, "mmiotrace: replay: %s\n",
            incomplete_trace_message(options.record.command.front(), outcome).c_str());
    return kExitCannotWriteTrace;
  }
  for (uint32_t i = 0; i < script->map_count; ++i) {
    fprintf(stderr, "mmiotrace: replay: map %d (%s): all %" PRIu64 " recorded accesses matched\n",
            script->maps[i].map_id, script->maps[i].path, script->maps[i].count);
  }
  return mirror_status(outcome.wait_status);
}

}  // namespace mmiotrace::cli
