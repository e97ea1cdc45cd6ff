// End-to-end tests: every program in tests/progs runs twice, untraced and under `mmiotrace
// record`. Both runs must behave the same (output, exit status, signal, core dump), and the
// trace must match tests/progs/NAME.expected once normalized (see trace_normalizer.hpp);
// NAME.STRATEGY.expected is the trace with `--strategy STRATEGY`.
// MMIOTRACE_REBASE=1 writes the normalized traces back as the new expectations.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "program_runner.hpp"
#include "trace_normalizer.hpp"

namespace mmiotrace::e2e {
namespace {

std::vector<std::string> programs_with_expectations() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(E2E_EXPECTED_DIR)) {
    if (entry.path().extension() == ".expected") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Core files a crash left in `directory` (with the usual core_pattern "core" or "core.PID"):
// how many, not their names, which hold PIDs.
size_t core_files(const std::string& directory) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    count += entry.path().filename().string().rfind("core", 0) == 0;
  }
  return count;
}

class TracedProgramTest : public ::testing::TestWithParam<std::string> {};

// Runs the program untraced and traced (with `extra` options), compares their behaviour, and
// the normalized trace with NAME[.STRATEGY].expected.
void check_program(const std::string& expectation, const std::vector<std::string>& extra) {
  const std::string name = expectation.substr(0, expectation.find('.'));
  const std::string strategy =
      name == expectation ? "emulate" : expectation.substr(expectation.find('.') + 1);
  const std::string program = std::string(E2E_PROGRAMS_DIR) + "/" + name;
  TemporaryDirectory untraced_dir;
  TemporaryDirectory traced_dir;
  ProgramResult untraced = run_program({program, untraced_dir.path()}, untraced_dir.path());
  const std::string trace_path = traced_dir.path() + "/trace.txt";
  std::vector<std::string> command = {MMIOTRACE_COMMAND, "record", "-o", trace_path, "--strategy",
                                     strategy, "--trace", traced_dir.path() + "/*.reg"};
  command.insert(command.end(), extra.begin(), extra.end());
  command.insert(command.end(), {"--", program, traced_dir.path()});
  ProgramResult traced = run_program(command, traced_dir.path());

  EXPECT_EQ(traced.out, untraced.out);
  // mmiotrace's own diagnostics aside (a mapping it cannot alias), stderr is the same too.
  EXPECT_EQ(without_diagnostics(traced.err), untraced.err);
  // `mmiotrace record` ends as its program did: same exit status, or killed by the same signal.
  // The core dump is the program's own, so it is compared as a file.
  EXPECT_EQ(describe_status(traced.status & ~0x80), describe_status(untraced.status & ~0x80));
  EXPECT_EQ(core_files(traced_dir.path()), core_files(untraced_dir.path()));

  NormalizedTrace trace =
      normalize_trace(read_file(trace_path), ProgramImage(program), traced_dir.path());
  for (const std::string& problem : trace.problems) ADD_FAILURE() << problem;
  const std::string expected_path =
      std::string(E2E_EXPECTED_DIR) + "/" + expectation + ".expected";
  if (const char* rebase = getenv("MMIOTRACE_REBASE");
      extra.empty() && rebase && std::string(rebase) == "1") {
    std::ofstream(expected_path) << trace.text;
    return;
  }
  EXPECT_EQ(trace.text, read_file(expected_path)) << "trace of " << expectation;
}

TEST_P(TracedProgramTest, BehavesAsUntracedAndRecordsTheExpectedTrace) {
  check_program(GetParam(), {});
}

// With diversion into the code cache, the same behaviour and the same trace: the same accesses
// in the same order (times aside, which the normalizer leaves out).
TEST_P(TracedProgramTest, DivertedBehavesAsUntracedAndRecordsTheSameTrace) {
  const std::string expectation = GetParam();
  if (expectation.find('.') != std::string::npos) GTEST_SKIP() << "single-step has no diversion";
  check_program(expectation, {"--divert"});
}

INSTANTIATE_TEST_SUITE_P(Programs, TracedProgramTest,
                         ::testing::ValuesIn(programs_with_expectations()),
                         [](const auto& param_info) {
                           std::string test_name = param_info.param;
                           std::replace(test_name.begin(), test_name.end(), '.', '_');
                           std::replace(test_name.begin(), test_name.end(), '-', '_');
                           return test_name;
                         });

}  // namespace
}  // namespace mmiotrace::e2e
