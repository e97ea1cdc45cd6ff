// `mmiotrace convert`: converts a trace between the kernel's text format and the binary format.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/subcommands.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

const char* const kConvertUsage =
    "usage: mmiotrace convert [--format text|binary] [--compress] IN OUT\n"
    "\n"
    "Reads the trace IN (any format, or a kernel log; '-' for standard input) and writes it to\n"
    "OUT ('-' for standard output) in the format asked for, or else the one OUT's name says:\n"
    ".txt or .log for text, .bin for binary, .zst for compressed binary.\n"
    "\n"
    "Exit status: 0; 121 when IN cannot be read; 124 when OUT cannot be written; 125 usage\n"
    "error.\n";

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int run_convert(const Arguments& arguments) {
  ArgumentReader reader("convert", arguments);
  std::string format_name;
  bool compress = false;
  while (reader.at_option()) {
    if (auto format = reader.take_value("--format")) {
      format_name = *format;
    } else if (reader.take_flag("--compress")) {
      compress = true;
    } else {
      reader.reject_option();
    }
  }
  reader.take_separator();
  std::vector<std::string> files = reader.rest();
  if (files.size() != 2) {
    throw CliError(kExitUsage, "convert: needs IN and OUT; see 'mmiotrace convert --help'");
  }
  const std::string& in = files[0];
  const std::string& out = files[1];
  if (format_name.empty()) {
    if (ends_with(out, ".txt") || ends_with(out, ".log")) format_name = "text";
    if (ends_with(out, ".bin")) format_name = "binary";
    if (ends_with(out, ".zst")) {
      format_name = "binary";
      compress = true;
    }
  }
  trace::TraceFormat format;
  if (format_name == "text") {
    format = trace::TraceFormat::Text;
  } else if (format_name == "binary") {
    format = trace::TraceFormat::Binary;
  } else if (format_name.empty()) {
    throw CliError(kExitUsage, "convert: cannot tell the format from '" + out +
                                   "'; say --format text or --format binary");
  } else {
    throw CliError(kExitUsage, "convert: unknown format '" + format_name + "'; use 'text' or 'binary'");
  }
  if (compress && format != trace::TraceFormat::Binary) {
    throw CliError(kExitUsage, "convert: --compress needs the binary format");
  }
  try {
    auto input = trace::TraceReader::open(in);
    int fd = out == "-" ? dup(1) : open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      throw CliError(kExitCannotWriteTrace, "convert: cannot write '" + out + "': " + strerror(errno));
    }
    auto output = trace::TraceWriter::create(fd, out == "-" ? "standard output" : out, format, compress);
    trace::Event event;
    while (input->next(event)) output->write_event(event);
    output->close();
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("convert: ") + error.what());
  } catch (const trace::TraceWriteError& error) {
    throw CliError(kExitCannotWriteTrace, std::string("convert: ") + error.what());
  }
  return 0;
}

}  // namespace mmiotrace::cli
