// End-to-end tests of the examples: they are documentation, so they must keep working.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "program_runner.hpp"

namespace mmiotrace::e2e {
namespace {

TEST(Examples, ProbeApiFromCSeesEveryAccessWhileTheProbeIsRegistered) {
  TemporaryDirectory directory;
  ProgramResult result = run_program({EXAMPLES_DIR "/probe_api"}, directory.path());
  EXPECT_EQ(describe_status(result.status), "exited 0");
  EXPECT_EQ(result.out, "sum 135; 10 reads, 10 writes, last value written 27\n");
}

TEST(Examples, RegpokeTraceHasEveryRegisterAccess) {
  TemporaryDirectory directory;
  std::string device = directory.path() + "/bar0";
  {
    std::ofstream out(device, std::ios::binary);
    std::string content(4096, '\0');
    content[0] = '\xcd';
    content[1] = '\xab';
    content[2] = '\x34';
    content[3] = '\x12';
    out << content;
  }
  std::string trace = directory.path() + "/trace.txt";
  ProgramResult result = run_program({MMIOTRACE_COMMAND, "record", "-o", trace, "--trace", device,
                                      "--", EXAMPLES_DIR "/regpoke", device},
                                     directory.path());
  EXPECT_EQ(describe_status(result.status), "exited 0");
  EXPECT_EQ(result.out,
            "device id: 0x1234abcd\ncontrol: 0x00000001, dma address: 0x00000001deadb000\n");
  std::istringstream lines(read_file(trace));
  std::vector<std::string> kinds;
  for (std::string line; std::getline(lines, line);) {
    // The libraries loaded, and the process's architecture.
    if (line.find(" module ") != std::string::npos || line.find(" arch ") != std::string::npos) {
      continue;
    }
    kinds.push_back(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"VERSION", "MAP", "R", "W", "W", "W", "W", "W", "W",
                                             "W", "W", "W", "R", "R", "UNMAP"}));
}

// The NVMe example against the nvme model: the README's main job.
TEST(Examples, NvmeInitBringsTheModelControllerUpAndDown) {
  TemporaryDirectory directory;
  std::string trace = directory.path() + "/trace.txt";
  ProgramResult result =
      run_program({MMIOTRACE_COMMAND, "record", "-o", trace, "--device", "nvme@/dev/fake-nvme",
                   "--", EXAMPLES_DIR "/nvme_init", "/dev/fake-nvme"},
                  directory.path());
  EXPECT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_EQ(result.out,
            "CAP 0x00400030040103ff: MQES 1024 entries, CQR 1, TO 2000 ms, DSTRD 0 (doorbell "
            "stride 4 bytes), NSSRS 1, CSS 0x01, MPSMIN 4096, MPSMAX 65536\n"
            "VS 1.4.0\ncontroller ready\nshutdown complete\n");
  std::string text = read_file(trace);
  // The sequence of NVMe 1.4 section 7.6.1, as the trace records it.
  EXPECT_TRUE(std::regex_search(
      text, std::regex("R 8 \\S+ 1 0x0 0x400030040103ff .*\nR 4 \\S+ 1 0x8 0x10400 .*\n"
                       "R 4 \\S+ 1 0x14 0x0 .*\nW 4 \\S+ 1 0x24 0x1f001f .*\n"
                       "W 8 \\S+ 1 0x28 0x100000 .*\nW 8 \\S+ 1 0x30 0x101000 .*\n"
                       "W 4 \\S+ 1 0x14 0x460001 .*\n(R 4 \\S+ 1 0x1c 0x0 .*\n)+"
                       "R 4 \\S+ 1 0x1c 0x1 .*\nW 4 \\S+ 1 0x14 0x464001 .*\n"
                       "(R 4 \\S+ 1 0x1c 0x5 .*\n)+R 4 \\S+ 1 0x1c 0x9 .*\nUNMAP ")))
      << text;
}

// Each example, recorded against its model, replays; a modified driver is caught.
struct ReplayedExample {
  const char* name;
  std::string device;
  std::vector<std::string> driver;
  std::vector<std::string> modified;
  const char* recorded_write;  // what the divergence report says was recorded
  const char* modified_write;  // and what the modified driver did
};

class ExampleReplay : public ::testing::TestWithParam<ReplayedExample> {};

TEST_P(ExampleReplay, RecordedTraceReplaysAndAModifiedDriverIsCaught) {
  const ReplayedExample& example = GetParam();
  TemporaryDirectory directory;
  std::string trace = directory.path() + "/trace.txt";
  std::vector<std::string> record = {MMIOTRACE_COMMAND, "record",       "-o", trace,
                                     "--device",        example.device, "--"};
  record.insert(record.end(), example.driver.begin(), example.driver.end());
  ProgramResult recorded = run_program(record, directory.path());
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;

  std::vector<std::string> replay = {MMIOTRACE_COMMAND, "replay", trace, "--"};
  std::vector<std::string> same = replay;
  same.insert(same.end(), example.driver.begin(), example.driver.end());
  ProgramResult replayed = run_program(same, directory.path());
  EXPECT_EQ(describe_status(replayed.status), "exited 0") << replayed.err;
  EXPECT_NE(replayed.err.find("recorded accesses matched"), std::string::npos) << replayed.err;

  std::vector<std::string> modified = replay;
  modified.insert(modified.end(), example.modified.begin(), example.modified.end());
  ProgramResult caught = run_program(modified, directory.path());
  EXPECT_EQ(describe_status(caught.status), "exited 117") << caught.err;
  EXPECT_NE(caught.err.find("the program diverged from " + trace + " at line "), std::string::npos)
      << caught.err;
  EXPECT_NE(caught.err.find(std::string("  recorded: ") + example.recorded_write),
            std::string::npos)
      << caught.err;
  EXPECT_NE(caught.err.find(std::string("  program:  ") + example.modified_write),
            std::string::npos)
      << caught.err;
}

INSTANTIATE_TEST_SUITE_P(
    Examples, ExampleReplay,
    ::testing::Values(ReplayedExample{"nvme_init",
                                      "nvme@/dev/fake-nvme",
                                      {EXAMPLES_DIR "/nvme_init", "/dev/fake-nvme"},
                                      {EXAMPLES_DIR "/nvme_init", "--abrupt", "/dev/fake-nvme"},
                                      "W 4 at offset 0x14 writing 0x464001",
                                      "W 4 at offset 0x14 writing 0x468001"},
                      ReplayedExample{
                          "uart_hello",
                          "uart16550:shift=2,out=/dev/null@/dev/ttyFAKE",
                          {EXAMPLES_DIR "/uart_hello", "/dev/ttyFAKE", "2"},
                          {EXAMPLES_DIR "/uart_hello", "/dev/ttyFAKE", "2", "hello, World"},
                          "W 4 at offset 0x0 writing 0x77",
                          "W 4 at offset 0x0 writing 0x57"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Examples, UartHelloTransmitsThroughTheModel) {
  TemporaryDirectory directory;
  std::string output = directory.path() + "/tx.txt";
  ProgramResult result =
      run_program({MMIOTRACE_COMMAND, "record", "-o", directory.path() + "/trace.txt", "--device",
                   "uart16550:out=" + output + "@/dev/ttyFAKE", "--", EXAMPLES_DIR "/uart_hello",
                   "/dev/ttyFAKE"},
                  directory.path());
  EXPECT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_EQ(read_file(output), "hello, world\n");
  ProgramResult annotated = run_program(
      {MMIOTRACE_COMMAND, "dump", "--annotate", directory.path() + "/trace.txt"}, directory.path());
  EXPECT_NE(annotated.out.find("  ; LSR\n"), std::string::npos) << annotated.out;
  EXPECT_NE(annotated.out.find("  ; LCR\n"), std::string::npos) << annotated.out;
}

}  // namespace
}  // namespace mmiotrace::e2e
