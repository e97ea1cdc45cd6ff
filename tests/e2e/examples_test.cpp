// End-to-end tests of the examples: they are documentation, so they must keep working.
#include <gtest/gtest.h>

#include <fstream>
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
  for (std::string line; std::getline(lines, line);) kinds.push_back(line.substr(0, line.find(' ')));
  EXPECT_EQ(kinds, (std::vector<std::string>{"VERSION", "MAP", "R", "W", "W", "W", "W", "W", "W",
                                             "W", "W", "W", "R", "R", "UNMAP"}));
}

}  // namespace
}  // namespace mmiotrace::e2e
