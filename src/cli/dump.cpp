// `mmiotrace dump`: prints any trace (text, binary, compressed, or a kernel log) as the
// kernel's mmiotrace text.
#include <unistd.h>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/subcommands.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

const char* const kDumpUsage =
    "usage: mmiotrace dump [FILE]\n"
    "\n"
    "Prints the trace in FILE (standard input when FILE is '-' or missing) in the Linux\n"
    "kernel's mmiotrace text format, whatever its format: text, binary, compressed binary,\n"
    "or a log written by the kernel's own tracer.\n"
    "\n"
    "Exit status: 0; 121 when the trace cannot be read (the message names the file and the\n"
    "line or byte offset); 125 usage error.\n";

int run_dump(const Arguments& arguments) {
  ArgumentReader reader("dump", arguments);
  if (reader.at_option()) reader.reject_option();
  reader.take_separator();
  std::vector<std::string> files = reader.rest();
  if (files.size() > 1) throw CliError(kExitUsage, "dump: one trace at a time; see 'mmiotrace dump --help'");
  std::string path = files.empty() ? "-" : files[0];
  try {
    auto input = trace::TraceReader::open(path);
    auto output =
        trace::TraceWriter::create(dup(1), "standard output", trace::TraceFormat::Text, false);
    trace::Event event;
    while (input->next(event)) output->write_event(event);
    output->close();
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("dump: ") + error.what());
  } catch (const trace::TraceWriteError& error) {
    throw CliError(kExitCannotWriteTrace, std::string("dump: ") + error.what());
  }
  return 0;
}

}  // namespace mmiotrace::cli
