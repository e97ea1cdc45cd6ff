// End-to-end tests of virtual devices and replay: `mmiotrace record --device` makes a path a
// device answered by a model, `mmiotrace replay` serves a recorded trace back and catches a
// driver that does something else, and `mmiotrace dump --annotate` names the registers.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "program_runner.hpp"
#include "trace_normalizer.hpp"

namespace mmiotrace::e2e {
namespace {

const std::string kDeviceProgram = std::string(E2E_PROGRAMS_DIR) + "/device_file";
const std::string kDevicePath = "/dev/mmiotrace-test-regs";

class DeviceTest : public ::testing::Test {
 protected:
  ProgramResult mmiotrace(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), MMIOTRACE_COMMAND);
    return run_program(arguments, directory_.path());
  }
  std::string path(const std::string& name) const { return directory_.path() + "/" + name; }
  // Records device_file against a regfile device into `trace`.
  ProgramResult record_device_file(const std::string& trace) {
    return mmiotrace({"record", "-o", trace, "--device", "regfile:size=8192@" + kDevicePath, "--",
                      kDeviceProgram, kDevicePath});
  }
  TemporaryDirectory directory_;
};

const char kDeviceFileOutput[] =
    "character device: yes\n"
    "access rw: 0\n"
    "opened: yes\n"
    "fstat is the same device: yes\n"
    "O_CREAT|O_EXCL: EEXIST\n"
    "read back: cafe0001 1122334455667788 5a\n"
    "second mapping: 1122334455667788\n"
    "mapping past the end: No such device or address\n"
    "write from the device: 4\n"
    "copied: cafe0001\n"
    "EXIT-SUCCESS\n";

TEST_F(DeviceTest, AVirtualDeviceIsACharacterDeviceWhoseModelAnswersItsMappings) {
  ProgramResult run = record_device_file(path("trace.txt"));
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.err;
  EXPECT_EQ(run.out, kDeviceFileOutput);
  EXPECT_EQ(run.err, "");
  NormalizedTrace trace = normalize_trace(read_file(path("trace.txt")),
                                          ProgramImage(kDeviceProgram), directory_.path());
  for (const std::string& problem : trace.problems)
    ADD_FAILURE() << problem;
  std::string text = std::regex_replace(trace.text, std::regex("PCIDEV[^\n]*\n"), "");
  EXPECT_EQ(text,
            "VERSION 20070824\n"
            "MAP T 1 0x0 VIRT 0x2000 PC PID\n"
            "MARK T device regfile:size=8192@/dev/mmiotrace-test-regs is map 1\n"
            "W 4 T 1 0x10 0xcafe0001 PC PID\n"
            "W 8 T 1 0x1000 0x1122334455667788 PC PID\n"
            "W 1 T 1 0x1fff 0x5a PC PID\n"
            "R 1 T 1 0x1fff 0x5a PC PID\n"
            "R 8 T 1 0x1000 0x1122334455667788 PC PID\n"
            "R 4 T 1 0x10 0xcafe0001 PC PID\n"
            "MAP T 2 0x1000 VIRT 0x1000 PC PID\n"
            "MARK T device regfile:size=8192@/dev/mmiotrace-test-regs is map 2\n"
            "R 8 T 2 0x1000 0x1122334455667788 PC PID\n"
            "R 4 T 1 0x10 0xcafe0001 PC PID\n"
            "UNMAP T 2 PC PID\n"
            "UNMAP T 1 PC PID\n");
}

TEST_F(DeviceTest, ReplayServesTheRecordedValuesBack) {
  ASSERT_EQ(describe_status(record_device_file(path("trace.txt")).status), "exited 0");
  // Both mappings of the device, each at the path it was recorded at.
  ProgramResult replay =
      mmiotrace({"replay", path("trace.txt"), "--", kDeviceProgram, kDevicePath});
  EXPECT_EQ(describe_status(replay.status), "exited 0") << replay.err;
  EXPECT_EQ(replay.out, kDeviceFileOutput);
  EXPECT_NE(replay.err.find("map 1 (/dev/mmiotrace-test-regs): all 7 recorded accesses matched"),
            std::string::npos)
      << replay.err;
  EXPECT_NE(replay.err.find("map 2 (/dev/mmiotrace-test-regs): all 1 recorded accesses matched"),
            std::string::npos)
      << replay.err;
}

TEST_F(DeviceTest, ReplayServesABinaryTraceAtAPathOfTheUsersChoice) {
  ASSERT_EQ(describe_status(
                mmiotrace({"record", "--format", "binary", "-o", path("trace.bin"), "--device",
                           "regfile:size=8192@" + kDevicePath, "--", kDeviceProgram, kDevicePath})
                    .status),
            "exited 0");
  ProgramResult replay =
      mmiotrace({"replay", path("trace.bin"), "--map", "1@/dev/elsewhere", "--map",
                 "2@/dev/elsewhere", "--", kDeviceProgram, "/dev/elsewhere"});
  EXPECT_EQ(describe_status(replay.status), "exited 0") << replay.err;
  EXPECT_EQ(replay.out, kDeviceFileOutput);
}

TEST_F(DeviceTest, ReplayCatchesAModifiedDriverAtItsFirstDifference) {
  ASSERT_EQ(describe_status(record_device_file(path("trace.txt")).status), "exited 0");
  ProgramResult replay =
      mmiotrace({"replay", path("trace.txt"), "--", kDeviceProgram, kDevicePath, "modified"});
  EXPECT_EQ(describe_status(replay.status), "exited 117");
  // The report: where in the trace, the recorded access and the program's, with their PCs.
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      replay.err, match,
      std::regex("diverged from .*trace.txt at line (\\d+), map 1 \\(/dev/mmiotrace-test-regs\\), "
                 "access 1 of 7\n"
                 "  recorded: W 4 at offset 0x10 writing 0xcafe0001 from PC 0x[0-9a-f]+\n"
                 "  program:  W 4 at offset 0x10 writing 0xcafe0002 from PC 0x[0-9a-f]+ "
                 "\\(pid \\d+\\)\n")))
      << replay.err;
  std::string line;
  std::ifstream trace(path("trace.txt"));
  for (int i = 0; i < std::stoi(match[1]); ++i)
    std::getline(trace, line);
  EXPECT_EQ(line.rfind("W 4 ", 0), 0u) << "line " << match[1] << " is the recorded write: " << line;
  // The program was stopped before it could use what the trace cannot vouch for.
  EXPECT_EQ(replay.out.find("read back"), std::string::npos) << replay.out;
}

TEST_F(DeviceTest, ReplayCatchesADriverThatStopsEarly) {
  ASSERT_EQ(describe_status(record_device_file(path("trace.txt")).status), "exited 0");
  // `true` maps nothing: every recorded access is missing.
  ProgramResult replay = mmiotrace({"replay", path("trace.txt"), "--", "true"});
  EXPECT_EQ(describe_status(replay.status), "exited 117");
  EXPECT_NE(replay.err.find("the program ended before"), std::string::npos) << replay.err;
  EXPECT_NE(replay.err.find("  program:  no further access"), std::string::npos) << replay.err;
}

TEST_F(DeviceTest, AnnotatedDumpNamesTheRegisters) {
  ASSERT_EQ(describe_status(mmiotrace({"record", "-o", path("trace.txt"), "--device",
                                       "nvme:delay_ms=0@/dev/fake-nvme", "--", kDeviceProgram,
                                       "/dev/fake-nvme"})
                                .status),
            "exited 0");
  ProgramResult dump = mmiotrace({"dump", "--annotate", path("trace.txt")});
  ASSERT_EQ(describe_status(dump.status), "exited 0") << dump.err;
  // device_file writes 0x10 (INTMC) and 0x1000 (the admin submission queue's doorbell).
  EXPECT_TRUE(std::regex_search(dump.out, std::regex("\nW 4 [0-9.]+ 1 0x10 0x[0-9a-f]+ 0x[0-9a-f]+ "
                                                     "\\d+  ; INTMC\n")))
      << dump.out;
  EXPECT_TRUE(std::regex_search(dump.out, std::regex("\nW 8 [0-9.]+ 1 0x1000 0x[0-9a-f]+ "
                                                     "0x[0-9a-f]+ \\d+  ; SQ0TDBL\n")))
      << dump.out;
  // Without --annotate the dump is the trace.
  EXPECT_EQ(mmiotrace({"dump", path("trace.txt")}).out, read_file(path("trace.txt")));
  // --model names a mapping of a trace recorded without a model.
  ProgramResult named = mmiotrace({"dump", "--model", "1=nvme", path("trace.txt")});
  EXPECT_NE(named.out.find("  ; INTMC\n"), std::string::npos) << named.out;
}

TEST_F(DeviceTest, SeveralDevicesAtOnceInEveryProcessOfTheCommand) {
  const std::string uart_output = path("uart.txt");
  const std::string script = "'" + kDeviceProgram + "' /dev/fake-regs > regs.out && '" +
                             EXAMPLES_DIR "/uart_hello' /dev/fake-uart && '" + EXAMPLES_DIR +
                             "/nvme_init' /dev/fake-nvme > nvme.out";
  ProgramResult run =
      mmiotrace({"record", "-o", path("trace.txt"), "--device", "regfile:size=8K@/dev/fake-regs",
                 "--device", "uart16550:out=" + uart_output + "@/dev/fake-uart", "--device",
                 "nvme:delay_ms=1@/dev/fake-nvme", "--", "sh", "-c", script});
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.err;
  EXPECT_EQ(read_file(path("regs.out")), kDeviceFileOutput);
  EXPECT_EQ(read_file(uart_output), "hello, world\n");
  EXPECT_NE(read_file(path("nvme.out")).find("shutdown complete"), std::string::npos);
  std::string trace = read_file(path("trace.txt"));
  for (const char* device :
       {"regfile:size=8K@/dev/fake-regs", "uart16550:out=", "nvme:delay_ms=1@"}) {
    EXPECT_NE(trace.find(std::string(" device ") + device), std::string::npos) << device;
  }
}

TEST_F(DeviceTest, BadDevicesAreRefusedWithOneLine) {
  auto expect_refused = [&](const std::string& device, const std::string& needle) {
    ProgramResult run =
        mmiotrace({"record", "-o", path("t.txt"), "--device", device, "--", "true"});
    EXPECT_EQ(describe_status(run.status), "exited 118") << device;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_NE(run.err.find(needle), std::string::npos) << run.err;
  };
  expect_refused("regfile", "@");
  expect_refused("regfile@relative/path", "absolute");
  expect_refused("nosuchmodel@/dev/x", "no device model 'nosuchmodel'");
  expect_refused("regfile:size=0@/dev/x", "size");
  expect_refused("regfile:colour=blue@/dev/x", "colour");
  expect_refused("./no-such-plugin.so@/dev/x", "no-such-plugin.so");
  ProgramResult no_map = mmiotrace({"replay", EXAMPLES_DIR "/../../tests/progs", "--", "true"});
  EXPECT_NE(no_map.status, 0);
}

TEST_F(DeviceTest, ReplayNeedsToKnowWhereEachMappingGoes) {
  {
    std::ofstream(path("kernel.txt")) << "VERSION 20070824\n"
                                         "MAP 1.000000 1 0xfe000000 0x7f0000000000 0x1000 0x0 0\n"
                                         "R 4 1.000001 1 0xfe000000 0x1 0x0 0\n";
  }
  ProgramResult run = mmiotrace({"replay", path("kernel.txt"), "--", "true"});
  EXPECT_EQ(describe_status(run.status), "exited 125");
  EXPECT_NE(run.err.find("--map MAPID@PATH"), std::string::npos) << run.err;
  run = mmiotrace({"replay", path("kernel.txt"), "--map", "7@/dev/x", "--", "true"});
  EXPECT_EQ(describe_status(run.status), "exited 125");
  EXPECT_NE(run.err.find("has no map 7"), std::string::npos) << run.err;
}

// A hardware trace's PCIDEV line chooses where its mapping goes: one that does not parse is
// refused with the trace's exit status and the function named, before anything runs.
TEST_F(DeviceTest, ReplayRefusesAPcidevLineThatDoesNotParse) {
  {
    std::ofstream(path("kernel.txt"))
        << "VERSION 20070824\n"
           "PCIDEV 3b08 10025159 zz 0 0 fe000000 0 0 0 0 0 0 1000 0 0 0 0\n"
           "MAP 1.000000 1 0xfe000000 0x7f0000000000 0x1000 0x0 0\n"
           "R 4 1.000001 1 0xfe000000 0x1 0x0 0\n";
  }
  ProgramResult run = mmiotrace({"replay", path("kernel.txt"), "--", "true"});
  EXPECT_EQ(describe_status(run.status), "exited 121");
  EXPECT_NE(run.err.find("PCIDEV line of 0000:3b:01.0 has 'zz'"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace mmiotrace::e2e
