// `mmiotrace dump`: prints any trace (text, binary, compressed, or a kernel log) as the
// kernel's mmiotrace text, optionally with the register (and its fields) each access touches.
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <map>
#include <optional>
#include <regex>

#include "analysis/progress.hpp"
#include "analysis/register_map_set.hpp"
#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/register_map_option.hpp"
#include "cli/subcommands.hpp"
#include "devices/model_catalog.hpp"
#include "trace/text_format.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

const char* const kDumpUsage =
    "usage: mmiotrace dump [--annotate] [--model MAPID=MODEL]... [--regs [MAPID=]MAP]... [FILE]\n"
    "\n"
    "Prints the trace in FILE (standard input when FILE is '-' or missing) in the Linux\n"
    "kernel's mmiotrace text format, whatever its format: text, binary, compressed binary,\n"
    "or a log written by the kernel's own tracer.\n"
    "\n"
    "Options:\n"
    "  --annotate          end each R and W line with '; REGISTER', the register of the\n"
    "                      device model the mapping was recorded against (its 'device' marker)\n"
    "  --model MAPID=MODEL name map MAPID's registers after MODEL's register map (a built-in\n"
    "                      model or a plugin .so), e.g. for a trace of real hardware; implies\n"
    "                      --annotate; repeatable\n"
    MMIOTRACE_REGS_OPTION_HELP
    "\n"
    "A progress bar is shown on stderr when it is a terminal.\n"
    "\n"
    "Exit status: 0; 121 when the trace cannot be read (the message names the file and the\n"
    "line or byte offset); 116 when a register map cannot be read (the message names the file,\n"
    "line and column); 118 unknown model; 125 usage error.\n";

namespace {

// The device model whose register map names a mapping's accesses.
struct AnnotatedMap {
  const mmiotrace_device_model* model = nullptr;
  const mmiotrace_register* registers = nullptr;  // the device's map, for its arguments
  uint64_t phys = 0;  // of the mapping's first byte: register offsets count from it
  bool mapped = false;
};

const mmiotrace_device_model* model_named(const std::string& name) {
  std::string error;
  const mmiotrace_device_model* model = devices::find_model(name, &error);
  if (model == nullptr) throw CliError(kExitBadDevice, "dump: " + error);
  return model;
}

// Turns events into annotated text lines.
class Annotator {
 public:
  Annotator(std::map<int, AnnotatedMap> maps, analysis::RegisterMapSet& register_maps)
      : maps_(std::move(maps)), register_maps_(register_maps) {}

  void write(const trace::Event& event, std::string& out) {
    static const std::regex device_mark(R"(^device (\S+) is map (\d+)\n?$)");
    if (event.kind == trace::EventKind::Map) {
      AnnotatedMap& map = maps_[event.map_id];
      map.phys = event.phys;
      map.mapped = true;
      register_maps_.mapped(event.map_id, event.phys);
    } else if (event.kind == trace::EventKind::Mark && event.text != nullptr) {
      std::string text(event.text, event.text_length);
      std::smatch match;
      std::string error;
      std::optional<devices::DeviceSpec> spec;
      if (text.starts_with("device ") && std::regex_match(text, match, device_mark) &&
          (spec = devices::parse_device_spec(match[1], &error))) {
        AnnotatedMap& map = maps_[std::stoi(match[2])];
        if (map.model == nullptr) {
          map.model = devices::find_model(spec->model, &error);  // an unknown plugin: no names
          if (map.model != nullptr) map.registers = devices::register_map(*map.model, spec->arguments);
        }
      }
    }
    bool access = event.kind == trace::EventKind::Read || event.kind == trace::EventKind::Write;
    if (!access) {
      format(event, out);
      return;
    }
    auto found = maps_.find(event.map_id);
    AnnotatedMap* map = found != maps_.end() && found->second.mapped ? &found->second : nullptr;
    // One line per 8 bytes at most, as the text format writes wide accesses, each named.
    for (unsigned offset = 0; offset < event.width; offset += 8) {
      trace::Event piece = event;
      piece.width = static_cast<uint8_t>(event.width - offset < 8 ? event.width - offset : 8);
      piece.phys = event.phys + offset;
      memcpy(piece.value, event.value + offset, piece.width);
      format(piece, out);
      std::string name = name_of(map, event.map_id, piece);
      if (name.empty()) continue;
      out.resize(out.size() - 1);  // its newline
      out += "  ; ";
      out += name;
      out += '\n';
    }
  }

 private:
  static void format(const trace::Event& event, std::string& out) {
    char buffer[trace::kMaxFormattedEvent];
    TextSpan span(buffer, sizeof(buffer));
    trace::format_text(event, span);
    out.append(span.view());
  }

  // What names the access: the register maps (--regs), then the mapping's device model;
  // empty when nothing does.
  std::string name_of(const AnnotatedMap* map, int map_id, const trace::Event& piece) const {
    uint64_t value = 0;
    memcpy(&value, piece.value, piece.width);
    auto direction = piece.kind == trace::EventKind::Read ? analysis::AccessDirection::Read
                                                          : analysis::AccessDirection::Write;
    std::string name = register_maps_.describe(map_id, piece.phys, piece.width, value, direction);
    if (!name.empty()) return name;
    if (map != nullptr && map->model != nullptr) {
      return register_name(*map, piece.phys - map->phys, piece.width);
    }
    return "";
  }

  static std::string register_name(const AnnotatedMap& map, uint64_t offset, uint32_t width) {
    const mmiotrace_register* reg = map.registers != nullptr
                                        ? devices::register_at(map.registers, offset, width)
                                        : devices::register_at(*map.model, offset, width);
    char text[64];
    if (reg == nullptr) {
      snprintf(text, sizeof(text), "offset 0x%" PRIx64, offset);
      return text;
    }
    if (reg->offset == offset) return reg->name;
    snprintf(text, sizeof(text), "%s+%" PRIu64, reg->name, offset - reg->offset);
    return text;
  }

  std::map<int, AnnotatedMap> maps_;
  analysis::RegisterMapSet& register_maps_;
};

}  // namespace

int run_dump(const Arguments& arguments) {
  ArgumentReader reader("dump", arguments);
  bool annotate = false;
  std::map<int, AnnotatedMap> named;
  analysis::RegisterMapSet register_maps;
  while (reader.at_option()) {
    if (reader.take_flag("--annotate")) {
      annotate = true;
    } else if (auto model = reader.take_value("--model")) {
      auto split = split_map_id(*model);
      if (!split) {
        throw CliError(kExitUsage, "dump: --model '" + *model +
                                       "' is not MAPID=MODEL (a map id from the trace's MAP "
                                       "lines, and a model name or plugin path)");
      }
      named[split->first].model = model_named(split->second);
      annotate = true;
    } else if (auto regs = reader.take_value("--regs")) {
      add_register_map("dump", *regs, register_maps);
      annotate = true;
    } else {
      reader.reject_option();
    }
  }
  reader.take_separator();
  std::vector<std::string> files = reader.rest();
  if (files.size() > 1) throw CliError(kExitUsage, "dump: one trace at a time; see 'mmiotrace dump --help'");
  std::string path = files.empty() ? "-" : files[0];
  try {
    auto input = trace::TraceReader::open(path);
    analysis::Progress progress("reading " + path, input->file_size());
    trace::Event event;
    if (!annotate) {
      auto output =
          trace::TraceWriter::create(dup(1), "standard output", trace::TraceFormat::Text, false);
      while (input->next(event)) {
        output->write_event(event);
        progress.update(input->bytes_read());
      }
      output->close();
      return 0;
    }
    Annotator annotator(std::move(named), register_maps);
    std::string out(trace::kTextVersionLine);
    while (input->next(event)) {
      annotator.write(event, out);
      progress.update(input->bytes_read());
      if (out.size() > (1 << 16)) {
        if (fwrite(out.data(), 1, out.size(), stdout) != out.size()) break;
        out.clear();
      }
    }
    fwrite(out.data(), 1, out.size(), stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      throw CliError(kExitCannotWriteTrace, std::string("dump: cannot write standard output: ") +
                                                strerror(errno));
    }
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("dump: ") + error.what());
  } catch (const trace::TraceWriteError& error) {
    throw CliError(kExitCannotWriteTrace, std::string("dump: ") + error.what());
  }
  return 0;
}

}  // namespace mmiotrace::cli
