// End-to-end tests: every program in tests/progs runs twice, untraced and under `mmiotrace
// record`. Both runs must behave the same (output, exit status, signal, core dump), and the
// trace must match tests/progs/NAME.expected once normalized (see trace_normalizer.hpp);
// NAME.STRATEGY.expected is the trace with `--strategy STRATEGY`.
// MMIOTRACE_REBASE=1 writes the normalized traces back as the new expectations.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

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

// "R 5", "W 6": an access's direction and value, as the checks below compare them.
std::string described(const AccessLine& access) {
  return std::string(1, access.kind) + " " + std::to_string(access.value);
}

// The `n`th access of a register written then read back with 0, 1, 2...: W 0, R 0, W 1, R 1...
std::string expected_in_turn(uint64_t n) {
  return std::string(n % 2 == 0 ? "W" : "R") + " " + std::to_string(n / 2);
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
  std::vector<std::string> command = {
      MMIOTRACE_COMMAND, "record", "-o",      trace_path,
      "--strategy",      strategy, "--trace", traced_dir.path() + "/*.reg"};
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
  for (const std::string& problem : trace.problems)
    ADD_FAILURE() << problem;
  const std::string expected_path = std::string(E2E_EXPECTED_DIR) + "/" + expectation + ".expected";
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

// Without the code cache (one signal per access, which is what the code cache must match), the
// same behaviour and the same trace: the same accesses in the same order (times aside, which the
// normalizer leaves out).
TEST_P(TracedProgramTest, WithoutTheCodeCacheBehavesAsUntracedAndRecordsTheSameTrace) {
  const std::string expectation = GetParam();
  if (expectation.find('.') != std::string::npos) GTEST_SKIP() << "single-step has no diversion";
  check_program(expectation, {"--no-divert"});
}

// A program signal arriving while translated code logs an access, whose handler logs accesses
// of its own, corrupts nothing: every access of the hot loop and of the handler is in the trace
// once, in order, with its value (signals_in_code_cache.c; thousands of timer signals).
TEST(SignalsInTheCodeCache, HandlersThatLogNeverInterleaveWithALoggedAccess) {
  const std::string program = std::string(E2E_PROGRAMS_DIR) + "/signals_in_code_cache";
  constexpr uint64_t kIterations = 300000;
  TemporaryDirectory untraced_dir;
  TemporaryDirectory traced_dir;
  ProgramResult untraced =
      run_program({program, untraced_dir.path(), std::to_string(kIterations)}, untraced_dir.path());
  const std::string trace_path = traced_dir.path() + "/trace.txt";
  ProgramResult traced = run_program(
      {MMIOTRACE_COMMAND, "record", "-o", trace_path, "--trace", traced_dir.path() + "/*.reg", "--",
       program, traced_dir.path(), std::to_string(kIterations)},
      traced_dir.path());
  ASSERT_EQ(describe_status(untraced.status), "exited 0") << untraced.out;
  ASSERT_EQ(describe_status(traced.status), "exited 0") << traced.out << traced.err;
  EXPECT_EQ(traced.out, untraced.out);
  uint64_t handler_runs = std::strtoull(traced.err.c_str(), nullptr, 10);
  EXPECT_GT(handler_runs, 100u) << traced.err;

  // The loop: W i, R i at offset 0. The handler: R n, W n + 1 at offset 0x100, after a W 0.
  uint64_t loop_accesses = 0;
  uint64_t handler_accesses = 0;
  std::istringstream lines(read_file(trace_path));
  for (std::string line; std::getline(lines, line);) {
    AccessLine access;
    if (!parse_access_line(line, &access)) continue;
    if (access.phys == 0) {
      ASSERT_EQ(described(access), expected_in_turn(loop_accesses))
          << "loop access " << loop_accesses << ": " << line;
      ++loop_accesses;
    } else if (access.phys == 0x100) {
      // W 0, then R 0, W 1, R 1, W 2...
      ASSERT_EQ(described(access), expected_in_turn(handler_accesses))
          << "handler access " << handler_accesses << ": " << line;
      ++handler_accesses;
    } else {
      ADD_FAILURE() << "an access nobody made: " << line;
    }
  }
  EXPECT_EQ(loop_accesses, 2 * kIterations);
  EXPECT_EQ(handler_accesses, 1 + 2 * handler_runs + 1);  // and the final read of the count
}

// Runs tests/progs/NAME untraced and traced, with and without the code cache: the same output
// and exit status 0 every time. Returns the normalized traces.
std::vector<NormalizedTrace> check_same_output(const std::string& name) {
  const std::string program = std::string(E2E_PROGRAMS_DIR) + "/" + name;
  TemporaryDirectory untraced_dir;
  ProgramResult untraced = run_program({program, untraced_dir.path()}, untraced_dir.path());
  EXPECT_EQ(describe_status(untraced.status), "exited 0") << untraced.out << untraced.err;
  std::vector<NormalizedTrace> traces;
  for (bool divert : {true, false}) {
    TemporaryDirectory traced_dir;
    const std::string trace_path = traced_dir.path() + "/trace.txt";
    std::vector<std::string> command = {MMIOTRACE_COMMAND, "record",  "-o",
                                        trace_path,        "--trace", traced_dir.path() + "/*.reg"};
    if (!divert) command.push_back("--no-divert");
    command.insert(command.end(), {"--", program, traced_dir.path()});
    ProgramResult traced = run_program(command, traced_dir.path());
    EXPECT_EQ(describe_status(traced.status), "exited 0") << traced.err;
    EXPECT_EQ(traced.out, untraced.out) << (divert ? "with" : "without") << " the code cache";
    EXPECT_EQ(traced.err, untraced.err);
    traces.push_back(
        normalize_trace(read_file(trace_path), ProgramImage(program), traced_dir.path()));
  }
  return traces;
}

// System calls without a wrapper mmiotrace interposes, on traced memory (unwrapped_syscalls.c):
// glibc's own futex calls for a process-shared robust mutex two processes take in turn, and
// syscall() of futex, getrandom, sendmsg and recvmsg. The program checks its data itself.
TEST(UnwrappedSyscalls, WorkOnTracedMemoryAsUntraced) {
  for (const NormalizedTrace& trace : check_same_output("unwrapped_syscalls")) {
    // The last increment of the counter under the mutex (4000), from either process.
    EXPECT_NE(trace.text.find(" 0x80 0xfa0 "), std::string::npos) << trace.text;
  }
}

// A program's own seccomp filter and SIGSYS handler work under mmiotrace's trap
// (own_seccomp_filter.c): its trap reaches its handler, its errno its caller, and a mutex and a
// condition variable in traced memory still work (their futex calls are trapped by mmiotrace).
TEST(UnwrappedSyscalls, AProgramsOwnSeccompFilterAndHandlerKeepWorking) {
  check_same_output("own_seccomp_filter");
}

// MMIOTRACE_CODE_CACHE_POLICY reaches the traced program: the adaptive policy emulates a
// site's first trap and translates it at its second; the eager one translates it at its first,
// so a loop whose every access the code cache makes emulates none (access_loop.c). The same
// output and accesses either way.
TEST(CodeCachePolicy, TheEagerPolicyTranslatesEverySiteAtItsFirstTrap) {
  const std::string program = std::string(E2E_PROGRAMS_DIR) + "/access_loop";
  uint64_t emulated[2] = {};
  for (int eager = 0; eager < 2; ++eager) {
    TemporaryDirectory directory;
    const std::string trace_path = directory.path() + "/trace.txt";
    ProgramResult traced =
        run_program({MMIOTRACE_COMMAND, "record", "-o", trace_path, "--trace",
                     directory.path() + "/*.reg", "--", program, directory.path(), "1000", "0"},
                    directory.path(),
                    {"MMIOTRACE_STATS=1",
                     std::string("MMIOTRACE_CODE_CACHE_POLICY=") + (eager ? "eager" : "adaptive")});
    ASSERT_EQ(describe_status(traced.status), "exited 0") << traced.out << traced.err;
    EXPECT_EQ(traced.out, "checked 1000\n");
    std::smatch stats;
    ASSERT_TRUE(std::regex_search(traced.err, stats, std::regex(R"(: \d+ traps: (\d+) emulated)")))
        << traced.err;
    emulated[eager] = std::stoull(stats[1]);
    uint64_t accesses = 0;
    std::istringstream lines(read_file(trace_path));
    for (std::string line; std::getline(lines, line);) {
      AccessLine access;
      if (parse_access_line(line, &access)) ++accesses;
    }
    EXPECT_EQ(accesses, 2000u) << (eager ? "eager" : "adaptive");
  }
  EXPECT_GE(emulated[0], 1u) << "adaptive: a site's first trap is emulated";
  EXPECT_EQ(emulated[1], 0u) << "eager: every site is translated at its first trap";
}

// Threads polling a device at once, each through the same hot entry, which is patched while
// the others run it: the same output as untraced, each thread's accesses in the trace in order
// with their values, with the code cache (its entry patched, so that the traps stop) and
// without it (threaded_polls.c).
TEST(ThreadedPolls, AnEntryPatchedWhileOtherThreadsRunItChangesNothingTheyDoOrTheTraceHolds) {
  const std::string program = std::string(E2E_PROGRAMS_DIR) + "/threaded_polls";
  constexpr uint64_t kIterations = 20000;
  constexpr int kThreads = 4;
  for (bool divert : {true, false}) {
    const uint64_t iterations = divert ? kIterations : kIterations / 20;  // a trap each
    TemporaryDirectory untraced_dir;
    ProgramResult untraced = run_program({program, untraced_dir.path(), std::to_string(iterations)},
                                         untraced_dir.path());
    ASSERT_EQ(describe_status(untraced.status), "exited 0") << untraced.out;
    TemporaryDirectory traced_dir;
    const std::string trace_path = traced_dir.path() + "/trace.txt";
    std::vector<std::string> command = {MMIOTRACE_COMMAND, "record",  "-o",
                                        trace_path,        "--trace", traced_dir.path() + "/*.reg"};
    if (!divert) command.push_back("--no-divert");
    command.insert(command.end(), {"--", program, traced_dir.path(), std::to_string(iterations)});
    ProgramResult traced = run_program(command, traced_dir.path(), {"MMIOTRACE_STATS=1"});
    ASSERT_EQ(describe_status(traced.status), "exited 0") << traced.out << traced.err;
    EXPECT_EQ(traced.out, untraced.out);
    if (divert) {
      // "...: T traps: ... P entries patched; ..."
      std::smatch stats;
      ASSERT_TRUE(std::regex_search(traced.err, stats,
                                    std::regex(R"(: (\d+) traps: .* (\d+) entries patched)")))
          << traced.err;
      EXPECT_GE(std::stoull(stats[2]), 1u) << traced.err;
      EXPECT_LT(std::stoull(stats[1]), iterations) << traced.err;  // not a trap per iteration
      // A thread that faulted at the site while another wrote the patch over it has its
      // instruction emulated: a single step would open the page to every thread, and their
      // accesses meanwhile would go unseen (they did, before: one in ten runs lost a few hundred).
      EXPECT_NE(traced.err.find(" 0 single-stepped"), std::string::npos) << traced.err;
      EXPECT_EQ(read_file(trace_path).find("single-stepping the instruction"), std::string::npos);
    }
    // Thread t: W i, R i at offset 0x40 t, for i from 0; then main's read of the last value.
    uint64_t accesses[kThreads] = {};
    std::istringstream lines(read_file(trace_path));
    for (std::string line; std::getline(lines, line);) {
      AccessLine access;
      if (!parse_access_line(line, &access)) continue;
      ASSERT_TRUE(access.phys % 0x40 == 0 && access.phys / 0x40 < kThreads) << line;
      uint64_t& seen = accesses[access.phys / 0x40];
      if (seen == 2 * iterations) {  // main's read
        EXPECT_EQ(described(access), "R " + std::to_string(iterations - 1)) << line;
      } else {
        ASSERT_EQ(described(access), expected_in_turn(seen))
            << "access " << seen << " of register " << access.phys << ": " << line;
      }
      ++seen;
    }
    for (uint64_t count : accesses)
      EXPECT_EQ(count, 2 * iterations + 1) << (divert ? "" : "--no-divert");
  }
}

// The registers no access touches stay as they were: every vector register, the AVX-512 masks,
// the x87 stack and control word and MXCSR, set before a hot loop whose log the recorder flushes
// hundreds of times (vector_state.c checks them and says which changed), with the code cache
// and without it.
TEST(VectorStateUnderTracing, EveryVectorMaskAndX87RegisterSurvivesTheHotLoop) {
  const std::string program = std::string(E2E_PROGRAMS_DIR) + "/vector_state";
  constexpr uint64_t kIterations = 200000;
  TemporaryDirectory untraced_dir;
  ProgramResult untraced =
      run_program({program, untraced_dir.path(), std::to_string(kIterations)}, untraced_dir.path());
  ASSERT_EQ(describe_status(untraced.status), "exited 0") << untraced.out;
  ASSERT_EQ(untraced.out, "sum " + std::to_string(3 * kIterations) + "\n");
  for (bool divert : {true, false}) {
    const uint64_t iterations = divert ? kIterations : kIterations / 100;  // a trap each
    TemporaryDirectory traced_dir;
    const std::string trace_path = traced_dir.path() + "/trace.bin";
    std::vector<std::string> command = {
        MMIOTRACE_COMMAND,           "record", "--format", "binary", "-o", trace_path, "--trace",
        traced_dir.path() + "/*.reg"};
    if (!divert) command.push_back("--no-divert");
    command.insert(command.end(), {"--", program, traced_dir.path(), std::to_string(iterations)});
    ProgramResult traced = run_program(command, traced_dir.path());
    ASSERT_EQ(describe_status(traced.status), "exited 0") << traced.out << traced.err;
    EXPECT_EQ(traced.out, "sum " + std::to_string(3 * iterations) + "\n");
    ProgramResult dump = run_program({MMIOTRACE_COMMAND, "dump", trace_path}, traced_dir.path());
    uint64_t reads = 0;
    std::istringstream lines(dump.out);
    for (std::string line; std::getline(lines, line);)
      reads += line.rfind("R 8 ", 0) == 0;
    EXPECT_EQ(reads, iterations) << (divert ? "" : "--no-divert");
  }
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
