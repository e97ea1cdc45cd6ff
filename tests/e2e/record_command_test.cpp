// End-to-end tests of `mmiotrace record`'s handling of a user's mistakes: one line on stderr
// that says what was wrong, and the documented exit status (docs/cli.md).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>

#include "program_runner.hpp"

namespace mmiotrace::e2e {
namespace {

class RecordCommandTest : public ::testing::Test {
 protected:
  ProgramResult record(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {MMIOTRACE_COMMAND, "record"});
    return run_program(arguments, directory_.path());
  }
  // One line, naming mmiotrace, containing `needle`.
  void expect_error(const ProgramResult& result, int status, const std::string& needle) {
    EXPECT_EQ(describe_status(result.status), "exited " + std::to_string(status));
    EXPECT_EQ(result.err.rfind("mmiotrace: ", 0), 0u) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos) << result.err;
  }
  TemporaryDirectory directory_;
};

TEST_F(RecordCommandTest, UnknownOption) {
  expect_error(record({"--frobnicate", "--", "true"}), 125, "unknown option '--frobnicate'");
}

TEST_F(RecordCommandTest, MissingCommand) {
  expect_error(record({"-o", "trace.txt"}), 125, "no command to run");
  expect_error(record({"-o", "trace.txt", "--"}), 125, "no command to run");
}

TEST_F(RecordCommandTest, OptionWithoutValue) {
  expect_error(record({"-o"}), 125, "option '-o' needs a value");
}

TEST_F(RecordCommandTest, UnwritableOutput) {
  expect_error(record({"-o", "no/such/dir/trace.txt", "--", "true"}), 124,
               "cannot write the trace to 'no/such/dir/trace.txt': No such file or directory");
}

TEST_F(RecordCommandTest, CommandNotFound) {
  expect_error(record({"-o", "trace.txt", "--", "no-such-command-xyz"}), 127,
               "cannot run 'no-such-command-xyz': No such file or directory");
}

TEST_F(RecordCommandTest, CommandNotExecutable) {
  std::string script = directory_.path() + "/not-executable";
  { std::ofstream(script) << "#!/bin/sh\n"; }
  chmod(script.c_str(), 0644);
  expect_error(record({"-o", "trace.txt", "--", script}), 126, "Permission denied");
}

TEST_F(RecordCommandTest, StaticallyLinkedCommand) {
  expect_error(record({"-o", "trace.txt", "--", STATIC_PROGRAM}), 119, "is statically linked");
  EXPECT_FALSE(std::ifstream(directory_.path() + "/trace.txt").good()) << "no trace is started";
}

TEST_F(RecordCommandTest, MalformedGlob) {
  expect_error(record({"--trace", "/dev/[abc", "--", "true"}), 123, "'[' without its ']'");
  expect_error(record({"--trace", "/dev/x\\", "--", "true"}), 123, "lone backslash");
}

TEST_F(RecordCommandTest, UnknownCodeCachePolicy) {
  const std::vector<std::string> command = {MMIOTRACE_COMMAND, "record", "-o",
                                            "trace.txt",       "--",     "true"};
  expect_error(run_program(command, directory_.path(), {"MMIOTRACE_CODE_CACHE_POLICY=lazy"}), 125,
               "MMIOTRACE_CODE_CACHE_POLICY=lazy is not a code-cache policy (adaptive, eager)");
  EXPECT_FALSE(std::ifstream(directory_.path() + "/trace.txt").good()) << "no trace is started";
  for (const char* known :
       {"MMIOTRACE_CODE_CACHE_POLICY=adaptive", "MMIOTRACE_CODE_CACHE_POLICY=eager"}) {
    ProgramResult result = run_program(command, directory_.path(), {known});
    EXPECT_EQ(describe_status(result.status), "exited 0") << known << ": " << result.err;
    EXPECT_EQ(result.err, "") << known;
  }
}

TEST_F(RecordCommandTest, HelpIsNotAnError) {
  ProgramResult result = record({"--help"});
  EXPECT_EQ(describe_status(result.status), "exited 0");
  EXPECT_NE(result.out.find("usage: mmiotrace record"), std::string::npos);
  EXPECT_TRUE(result.err.empty());
}

TEST_F(RecordCommandTest, EverythingFromTheCommandOnIsTheCommands) {
  // The command's own -o and --help are its, not record's; record's --help before it is ours.
  ProgramResult result =
      record({"-o", "trace.txt", "--trace", "/nothing/*", "echo", "-o", "x", "--help"});
  EXPECT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_EQ(result.out, "-o x --help\n");
  EXPECT_TRUE(std::ifstream(directory_.path() + "/trace.txt").good());
  EXPECT_FALSE(std::ifstream(directory_.path() + "/x").good());
  result = record({"-o", "trace.txt", "--help", "echo", "hi"});
  EXPECT_EQ(describe_status(result.status), "exited 0");
  EXPECT_NE(result.out.find("usage: mmiotrace record"), std::string::npos) << result.out;
}

TEST_F(RecordCommandTest, ExitStatusOfTheCommandIsPassedOn) {
  ProgramResult result = record({"-o", "trace.txt", "--", "sh", "-c", "exit 42"});
  EXPECT_EQ(describe_status(result.status), "exited 42");
  EXPECT_TRUE(result.err.empty()) << result.err;
}

TEST_F(RecordCommandTest, SignalThatKilledTheCommandKillsMmiotrace) {
  ProgramResult result = record({"-o", "trace.txt", "--", "sh", "-c", "kill -TERM $$"});
  EXPECT_TRUE(WIFSIGNALED(result.status));
  EXPECT_EQ(WTERMSIG(result.status), SIGTERM);
}

TEST_F(RecordCommandTest, TraceToStandardOutput) {
  // A glob that names no PCI device: the trace has no PCIDEV lines.
  ProgramResult result = record({"-o", "-", "--trace", "/nothing/*", "--", "true"});
  EXPECT_EQ(result.out, "VERSION 20070824\n");
}

TEST_F(RecordCommandTest, UnknownSubcommand) {
  ProgramResult result = run_program({MMIOTRACE_COMMAND, "recrod"}, directory_.path());
  expect_error(result, 125, "unknown subcommand 'recrod'");
}

}  // namespace
}  // namespace mmiotrace::e2e
