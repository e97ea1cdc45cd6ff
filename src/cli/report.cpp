// `mmiotrace report`: what a trace says, per mapping and register, for people or (--json)
// scripts. Streams the trace: memory follows the registers it touches, not its length.
// (Declared in subcommands.hpp, with the other subcommands.)
#include <cstdio>
#include <map>

#include "analysis/device_registers.hpp"
#include "analysis/progress.hpp"
#include "analysis/report.hpp"
#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/device_option.hpp"
#include "cli/register_map_option.hpp"
#include "cli/subcommands.hpp"
#include "cli/trace_input.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::cli {

int run_report(const Arguments& arguments) {
  ArgumentReader reader("report", arguments);
  bool json = false;
  bool strict = false;
  analysis::RegisterMapSet register_maps;
  std::map<int, const mmiotrace_register*> chosen;
  while (reader.next_option()) {
    if (reader.take_flag("--json")) {
      json = true;
    } else if (auto model = reader.take_value("--model")) {
      add_model_choice("report", *model, chosen);
    } else if (reader.take_flag("--strict")) {
      strict = true;
    } else if (auto regs = reader.take_value("--regs")) {
      add_register_map("report", *regs, register_maps);
    } else {
      reader.reject_option();
    }
  }
  const std::vector<std::string>& files = reader.operands();
  if (files.size() > 1) {
    throw CliError(kExitUsage, "report: one trace at a time; see 'mmiotrace report --help'");
  }
  std::string path = files.empty() ? "-" : files[0];
  analysis::ReportBuilder builder(chosen);
  try {
    auto input = trace::TraceReader::open(path, trace_read_options("report", strict));
    analysis::Progress progress("reading " + path, input->file_size());
    trace::Event event;
    while (input->next(event)) {
      builder.add(event);
      progress.update(input->bytes_read());
    }
  } catch (const trace::TraceReadError& error) {
    throw CliError(kExitBadTrace, std::string("report: ") + error.what());
  }
  if (!builder.unloaded_plugins().empty()) {
    fprintf(stderr, "mmiotrace: report: %s\n",
            analysis::unloaded_plugins_warning(builder.unloaded_plugins()).c_str());
  }
  if (json) {
    analysis::write_report_json(builder.report(), builder.symbolizer(), path, stdout,
                                &register_maps);
  } else {
    analysis::write_report_text(builder.report(), builder.symbolizer(), path, stdout,
                                &register_maps);
  }
  if (fflush(stdout) != 0) {
    throw CliError(kExitCannotWriteTrace, "report: cannot write standard output");
  }
  for (const std::string& warning : builder.symbolizer().warnings())
    fprintf(stderr, "report: warning: %s\n", warning.c_str());
  return 0;
}

}  // namespace mmiotrace::cli
