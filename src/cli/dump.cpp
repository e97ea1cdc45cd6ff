// `mmiotrace dump`: prints any trace (text, binary, compressed, or a kernel log) as the
// kernel's mmiotrace text, optionally with the register each access touches.
#include <unistd.h>

#include <cinttypes>
#include <cstring>
#include <map>
#include <optional>
#include <regex>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/subcommands.hpp"
#include "devices/model_catalog.hpp"
#include "trace/text_format.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

const char* const kDumpUsage =
    "usage: mmiotrace dump [--annotate] [--model MAPID=MODEL]... [FILE]\n"
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
    "\n"
    "Exit status: 0; 121 when the trace cannot be read (the message names the file and the\n"
    "line or byte offset); 118 unknown model; 125 usage error.\n";

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
  explicit Annotator(std::map<int, AnnotatedMap> maps) : maps_(std::move(maps)) {}

  void write(const trace::Event& event, std::string& out) {
    static const std::regex device_mark(R"(^device (\S+) is map (\d+)\n?$)");
    if (event.kind == trace::EventKind::Map) {
      AnnotatedMap& map = maps_[event.map_id];
      map.phys = event.phys;
      map.mapped = true;
    } else if (event.kind == trace::EventKind::Mark && event.text != nullptr) {
      std::string text(event.text, event.text_length);
      std::smatch match;
      std::string error;
      std::optional<devices::DeviceSpec> spec;
      if (std::regex_match(text, match, device_mark) &&
          (spec = devices::parse_device_spec(match[1], &error))) {
        AnnotatedMap& map = maps_[std::stoi(match[2])];
        if (map.model == nullptr) {
          map.model = devices::find_model(spec->model, &error);  // an unknown plugin: no names
          if (map.model != nullptr) map.registers = devices::register_map(*map.model, spec->arguments);
        }
      }
    }
    bool access = event.kind == trace::EventKind::Read || event.kind == trace::EventKind::Write;
    auto found = maps_.find(event.map_id);
    if (!access || found == maps_.end() || found->second.model == nullptr || !found->second.mapped) {
      format(event, out);
      return;
    }
    // One line per 8 bytes at most, as the text format writes wide accesses, each named.
    for (unsigned offset = 0; offset < event.width; offset += 8) {
      trace::Event piece = event;
      piece.width = static_cast<uint8_t>(event.width - offset < 8 ? event.width - offset : 8);
      piece.phys = event.phys + offset;
      memcpy(piece.value, event.value + offset, piece.width);
      format(piece, out);
      out.resize(out.size() - 1);  // its newline
      out += "  ; " + register_name(found->second, piece.phys - found->second.phys, piece.width) +
             "\n";
    }
  }

 private:
  static void format(const trace::Event& event, std::string& out) {
    char buffer[trace::kMaxFormattedEvent];
    TextSpan span(buffer, sizeof(buffer));
    trace::format_text(event, span);
    out.append(span.view());
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
};

}  // namespace

int run_dump(const Arguments& arguments) {
  ArgumentReader reader("dump", arguments);
  bool annotate = false;
  std::map<int, AnnotatedMap> named;
  while (reader.at_option()) {
    if (reader.take_flag("--annotate")) {
      annotate = true;
    } else if (auto model = reader.take_value("--model")) {
      size_t equals = model->find('=');
      char* end = nullptr;
      long map_id = equals == std::string::npos ? 0 : strtol(model->c_str(), &end, 10);
      if (equals == std::string::npos || map_id <= 0 || end != model->c_str() + equals ||
          equals + 1 == model->size()) {
        throw CliError(kExitUsage, "dump: --model '" + *model +
                                       "' is not MAPID=MODEL (a map id from the trace's MAP "
                                       "lines, and a model name or plugin path)");
      }
      named[static_cast<int>(map_id)].model = model_named(model->substr(equals + 1));
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
    trace::Event event;
    if (!annotate) {
      auto output =
          trace::TraceWriter::create(dup(1), "standard output", trace::TraceFormat::Text, false);
      while (input->next(event)) output->write_event(event);
      output->close();
      return 0;
    }
    Annotator annotator(std::move(named));
    std::string out(trace::kTextVersionLine);
    while (input->next(event)) {
      annotator.write(event, out);
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
