// The mmiotrace command: dispatches to a subcommand, and turns user errors into one line on
// stderr and an exit status. (No header: the program's entry point.)
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/subcommands.hpp"

namespace {

using namespace mmiotrace::cli;

struct Subcommand {
  const char* name;
  int (*run)(const Arguments&);
  const char* const* usage;
};

const Subcommand kSubcommands[] = {
    {"record", &run_record, &kRecordUsage},    {"report", &run_report, &kReportUsage},
    {"diff", &run_diff, &kDiffUsage},          {"dump", &run_dump, &kDumpUsage},
    {"convert", &run_convert, &kConvertUsage}, {"mark", &run_mark, &kMarkUsage},
    {"replay", &run_replay, &kReplayUsage},
};

const Subcommand& subcommand_named(const std::string& name) {
  for (const Subcommand& subcommand : kSubcommands) {
    if (name == subcommand.name) return subcommand;
  }
  throw CliError(kExitUsage, "unknown subcommand '" + name + "'; see 'mmiotrace --help'");
}

int run(int argc, char** argv) {
  if (argc < 2) {
    throw CliError(kExitUsage, "no subcommand given; see 'mmiotrace --help'");
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || (name == "help" && argc == 2)) {
    fputs(kMainUsage, stdout);
    return 0;
  }
  if (name == "help") {  // mmiotrace help SUBCOMMAND
    if (argc > 3) {
      throw CliError(kExitUsage,
                     "help: one subcommand at a time; usage: mmiotrace help [SUBCOMMAND]");
    }
    fputs(*subcommand_named(argv[2]).usage, stdout);
    return 0;
  }
  if (name == "--version" || name == "-V") {
    printf("mmiotrace %s\n", MMIOTRACE_VERSION);
    return 0;
  }
  const Subcommand& subcommand = subcommand_named(name);
  try {
    return subcommand.run(Arguments(argv + 2, argv + argc));
  } catch (const HelpRequested&) {  // --help among its options
    fputs(*subcommand.usage, stdout);
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const CliError& error) {
    fprintf(stderr, "mmiotrace: %s\n", error.what());
    return error.exit_status();
  } catch (const std::exception& error) {
    fprintf(stderr, "mmiotrace: internal error: %s\n", error.what());
    return 70;
  }
}
