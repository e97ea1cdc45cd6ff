// `mmiotrace convert`: converts a trace between the kernel's text format and the binary format,
// or into a timeline that ui.perfetto.dev and chrome://tracing open (docs/timeline.md).
// (Declared in subcommands.hpp, with the other subcommands.)
#include <optional>

#include "analysis/perfetto_writer.hpp"
#include "analysis/progress.hpp"
#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/output_file.hpp"
#include "cli/register_map_option.hpp"
#include "cli/subcommands.hpp"
#include "cli/trace_input.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

int run_convert(const Arguments& arguments) {
  ArgumentReader reader("convert", arguments);
  std::string format_name;
  bool compress = false;
  bool strict = false;
  analysis::RegisterMapSet register_maps;
  while (reader.next_option()) {
    if (auto format = reader.take_value("--format")) {
      format_name = *format;
    } else if (auto target = reader.take_value("--to")) {
      format_name = *target;
    } else if (reader.take_flag("--compress")) {
      compress = true;
    } else if (reader.take_flag("--strict")) {
      strict = true;
    } else if (auto regs = reader.take_value("--regs")) {
      add_register_map("convert", *regs, register_maps);
    } else {
      reader.reject_option();
    }
  }
  const std::vector<std::string>& files = reader.operands();
  if (files.size() != 2) {
    throw CliError(kExitUsage, "convert: needs IN and OUT; see 'mmiotrace convert --help'");
  }
  const std::string& in = files[0];
  const std::string& out = files[1];
  if (trace::names_unwritable_compression(out)) {
    throw CliError(kExitUsage, "convert: cannot write '" + out +
                                   "': mmiotrace reads xz but writes zstd (.zst) or gzip (.gz)");
  }
  // OUT's name says the format and the compression, unless --to and --compress do.
  std::optional<trace::TraceOutputKind> named = trace::output_kind_of_name(out);
  if (format_name.empty()) {
    if (out.ends_with(".json")) {
      format_name = "perfetto";
    } else if (named) {
      format_name = named->format == trace::TraceFormat::Text ? "text" : "binary";
    }
  }
  std::optional<trace::TraceFormat> format;  // none: the perfetto timeline
  if (format_name == "text") {
    format = trace::TraceFormat::Text;
  } else if (format_name == "binary") {
    format = trace::TraceFormat::Binary;
  } else if (format_name == "perfetto") {
    format = std::nullopt;
  } else if (format_name.empty()) {
    throw CliError(kExitUsage, "convert: cannot tell the format from '" + out +
                                   "'; say --to text, --to binary or --to perfetto");
  } else {
    throw CliError(kExitUsage, "convert: unknown format '" + format_name +
                                   "'; use 'text', 'binary' or 'perfetto'");
  }
  if (!register_maps.empty() && format) {
    throw CliError(kExitUsage,
                   "convert: --regs names registers in a perfetto timeline only; "
                   "for text, use 'mmiotrace dump --regs'");
  }
  trace::TraceCompression compression = named ? named->compression : trace::TraceCompression::None;
  if (compress && !format) {
    throw CliError(kExitUsage,
                   "convert: --compress compresses text or binary traces, not a "
                   "perfetto timeline");
  }
  if (compress && compression == trace::TraceCompression::None) {
    compression = trace::TraceCompression::Zstd;
  }
  try {
    auto input = trace::TraceReader::open(in, trace_read_options("convert", strict));
    // A new file, put in place once it is whole: OUT may be IN (`convert X X`), and a failure
    // leaves what OUT was.
    OutputFile output_file("convert: cannot write", out, OutputFile::Previous::Replaced);
    output_file.remove_on_interrupt();
    int fd = output_file.take_descriptor();
    const std::string& out_name = output_file.name();
    analysis::Progress progress("converting " + in, input->file_size());
    trace::Event event;
    if (!format) {
      analysis::PerfettoWriter timeline(fd, out_name, in == "-" ? "standard input" : in);
      timeline.use_register_maps(&register_maps);
      while (input->next(event)) {
        timeline.write(event);
        progress.update(input->bytes_read());
      }
      timeline.finish();
      output_file.commit();
      return 0;
    }
    auto output = trace::TraceWriter::create(fd, out_name, *format, compression);
    while (input->next(event)) {
      output->write_event(event);
      progress.update(input->bytes_read());
    }
    output->close();
    output_file.commit();
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("convert: ") + error.what());
  } catch (const trace::TraceWriteError& error) {
    throw CliError(kExitCannotWriteTrace, std::string("convert: ") + error.what());
  }
  return 0;
}

}  // namespace mmiotrace::cli
