// `mmiotrace dump`: prints any trace (text, binary, compressed or not, or a kernel log) as the
// kernel's mmiotrace text, optionally with the register (and its fields) each access touches.
// (Declared in subcommands.hpp, with the other subcommands.)
#include <unistd.h>

#include <cstring>
#include <map>

#include "analysis/annotator.hpp"
#include "analysis/device_registers.hpp"
#include "analysis/progress.hpp"
#include "analysis/register_map_set.hpp"
#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/device_option.hpp"
#include "cli/register_map_option.hpp"
#include "cli/subcommands.hpp"
#include "cli/trace_input.hpp"
#include "trace/text_format.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::cli {

int run_dump(const Arguments& arguments) {
  ArgumentReader reader("dump", arguments);
  bool annotate = false;
  bool strict = false;
  std::map<int, const mmiotrace_register*> chosen;
  analysis::RegisterMapSet register_maps;
  while (reader.next_option()) {
    if (reader.take_flag("--annotate")) {
      annotate = true;
    } else if (reader.take_flag("--strict")) {
      strict = true;
    } else if (auto model = reader.take_value("--model")) {
      add_model_choice("dump", *model, chosen);
      annotate = true;
    } else if (auto regs = reader.take_value("--regs")) {
      add_register_map("dump", *regs, register_maps);
      annotate = true;
    } else {
      reader.reject_option();
    }
  }
  const std::vector<std::string>& files = reader.operands();
  if (files.size() > 1)
    throw CliError(kExitUsage, "dump: one trace at a time; see 'mmiotrace dump --help'");
  std::string path = files.empty() ? "-" : files[0];
  try {
    auto input = trace::TraceReader::open(path, trace_read_options("dump", strict));
    analysis::Progress progress("reading " + path, input->file_size());
    trace::Event event;
    if (!annotate) {
      auto output =
          trace::TraceWriter::create(dup(1), "standard output", trace::TraceFormat::Text, false);
      try {
        while (input->next(event)) {
          output->write_event(event);
          progress.update(input->bytes_read());
        }
      } catch (const trace::TraceReadError&) {
        output->close();  // the lines before the one that stops dump are printed
        throw;
      }
      output->close();
      return 0;
    }
    analysis::Annotator annotator(chosen, register_maps);
    std::string out(trace::kTextVersionLine);
    try {
      while (input->next(event)) {
        annotator.write(event, out);
        progress.update(input->bytes_read());
        if (out.size() > (1 << 16)) {
          if (fwrite(out.data(), 1, out.size(), stdout) != out.size()) break;
          out.clear();
        }
      }
    } catch (const trace::TraceReadError&) {
      fwrite(out.data(), 1, out.size(), stdout);
      fflush(stdout);
      throw;
    }
    fwrite(out.data(), 1, out.size(), stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      throw CliError(kExitCannotWriteTrace,
                     std::string("dump: cannot write standard output: ") + strerror(errno));
    }
    if (!annotator.unloaded_plugins().empty()) {
      fprintf(stderr, "mmiotrace: dump: %s\n",
              analysis::unloaded_plugins_warning(annotator.unloaded_plugins()).c_str());
    }
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("dump: ") + error.what());
  } catch (const trace::TraceWriteError& error) {
    throw CliError(kExitCannotWriteTrace, std::string("dump: ") + error.what());
  }
  return 0;
}

}  // namespace mmiotrace::cli
