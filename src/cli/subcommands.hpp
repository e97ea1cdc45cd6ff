// The mmiotrace command's subcommands, one file each. Each takes its arguments after the
// subcommand name and returns the exit status, or throws CliError for a user's mistake. Their
// help texts (kNameUsage) are made from docs/cli.md by tools/cli-docs when the command is built.
#pragma once

#include <string>
#include <vector>

namespace mmiotrace::cli {

using Arguments = std::vector<std::string>;

// What `mmiotrace --help` prints: the usage and the subcommands, each with its summary.
extern const char* const kMainUsage;

int run_record(const Arguments& arguments);
extern const char* const kRecordUsage;
int run_dump(const Arguments& arguments);
extern const char* const kDumpUsage;
int run_convert(const Arguments& arguments);
extern const char* const kConvertUsage;
int run_mark(const Arguments& arguments);
extern const char* const kMarkUsage;
int run_replay(const Arguments& arguments);
extern const char* const kReplayUsage;
int run_report(const Arguments& arguments);
extern const char* const kReportUsage;
int run_diff(const Arguments& arguments);
extern const char* const kDiffUsage;

}  // namespace mmiotrace::cli
