// End-to-end tests of the emulated VFIO (`mmiotrace record --pci MODEL:driver=vfio-pci@BDF`):
// tests/progs/vfio_driver, a user-space driver written as DPDK's and QEMU's are, drives two
// virtual functions through their container, groups and device descriptors. Its output says
// what each request answered; its trace holds the BAR accesses at each function's own physical
// address, the config reads and writes, and the DMA mappings.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <tuple>

#include "program_runner.hpp"

namespace mmiotrace::e2e {
namespace {

const std::string kVfioDriver = std::string(E2E_PROGRAMS_DIR) + "/vfio_driver";
constexpr int kExitNoPciBus = 114;  // docs/cli.md: no private mount namespace can be made

// What one function answers, as vfio_driver prints it; `identity` is its revision and class,
// `stored` and `written` the values it puts in registers 0x10 (mapped) and 0x20 (pwrite).
std::string driven(const std::string& identity, const std::string& stored,
                   const std::string& written) {
  return "device: pci yes, reset yes, 9 regions, 5 irqs\n"
         "config: size 256 offset 0x70000000000 flags 3\n"
         "bar0: size 4096 offset 0x0 flags 7\n"
         "bar1: size 0\n"
         "vendor 1b36 device 0005\n"
         "preadv: 4 " +
         identity +
         "\n"
         "memory decoding: on\n"
         "pread after a store: 4 " +
         stored +
         "\n"
         "pwrite: 4\n"
         "load after a pwrite: " +
         written +
         "\n"
         "private mapping: Invalid argument\n"
         "pread with decoding off: -1 Input/output error\n"
         "config pwrite: 2\n"
         "past the BAR: -1 Invalid argument\n";
}

const std::string kDriverOutput =
    "api version: 0\n"
    "type1v2: 1\n"
    "noiommu: 0\n"
    "second open of the group: Device or resource busy\n"
    "device before a container: Invalid argument\n"
    "set IOMMU before a group: Invalid argument\n"
    "group viable: yes\n"
    "set container: 0\n"
    "container set: yes\n"
    "device before the IOMMU: Invalid argument\n"
    "set IOMMU: 0\n"
    "no such device: No such device\n"
    "iommu info: 0, page sizes 40201000, 2 iova ranges from 0\n" +
    driven("revision 5a class 020000", "cafe0001", "3501fffe") +
    "bad argsz: Invalid argument\n"
    "unknown request: Inappropriate ioctl for device\n"
    "unknown request again: Inappropriate ioctl for device\n"
    "msi-x vectors: 0\n"
    "trigger the request interrupt: 0\n"
    "trigger an msi-x vector: Invalid argument\n"
    "reset: 0\n"
    "a copy of the descriptor: 2 vendor 1b36, 0 9 regions\n"
    "dma map: 0\n"
    "dma map again: File exists\n"
    "dma unmap half: Invalid argument\n"
    "dma unmap: 0, 8192 bytes\n"
    "group viable: yes\n"
    "set container: 0\n"
    "container set: yes\n"
    "no such device: No such device\n" +
    driven("revision 00 class ff0000", "beef0002", "4110fffd") + "EXIT-SUCCESS\n";

// The lines of a text trace, each split into its fields.
std::vector<std::vector<std::string>> trace_lines(const std::string& path) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream text(read_file(path));
  for (std::string line; std::getline(text, line);) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; in >> field;)
      fields.push_back(field);
    if (!fields.empty()) lines.push_back(fields);
  }
  return lines;
}

// BAR0's physical address in the PCIDEV line of the function at bus:devfn `slot`, or 0.
uint64_t bar0(const std::vector<std::vector<std::string>>& lines, const std::string& slot) {
  for (const auto& fields : lines) {
    if (fields.size() > 4 && fields[0] == "PCIDEV" && fields[1] == slot) {
      return std::stoull(fields[4], nullptr, 16) & ~uint64_t{0xf};
    }
  }
  return 0;
}

// "R 0xPHYS 0xVALUE" for each access of the trace, in order.
std::vector<std::string> accesses(const std::vector<std::vector<std::string>>& lines) {
  std::vector<std::string> found;
  for (const auto& fields : lines) {
    if (fields.size() >= 6 && (fields[0] == "R" || fields[0] == "W")) {
      found.push_back(fields[0] + " " + fields[4] + " " + fields[5]);
    }
  }
  return found;
}

// The MARK lines that start with `prefix` (after the time), without it and the time.
std::vector<std::string> marks(const std::vector<std::vector<std::string>>& lines,
                               const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& fields : lines) {
    if (fields.size() < 3 || fields[0] != "MARK" || fields[2] != prefix) continue;
    std::string rest;
    for (size_t i = 3; i < fields.size(); ++i)
      rest += (rest.empty() ? "" : " ") + fields[i];
    found.push_back(rest);
  }
  return found;
}

std::string hex(uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

TEST(VfioTest, AUserSpaceDriverDrivesTwoFunctionsThroughVfioAndIsTraced) {
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/trace.txt";
  ProgramResult run = run_program(
      {MMIOTRACE_COMMAND, "record", "-o", trace, "--pci",
       "regfile:class=0x020000,revision=0x5a,driver=vfio-pci@3a:00.0", "--pci",
       "regfile:driver=vfio-pci@3b:00.0", "--", kVfioDriver, "0000:3a:00.0", "0000:3b:00.0"},
      directory.path());
  if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == kExitNoPciBus) {
    GTEST_SKIP() << "no private mount namespace here for the virtual PCI bus: " << run.err;
  }
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_EQ(run.out, kDriverOutput);
  // The request the emulation lacks is named once, though the program made it twice.
  EXPECT_EQ(run.err,
            "mmiotrace: the emulated VFIO does not implement ioctl 0x3ba0 on a device "
            "descriptor; the program got ENOTTY\n");

  auto lines = trace_lines(trace);
  uint64_t first = bar0(lines, "3a00");
  uint64_t second = bar0(lines, "3b00");
  ASSERT_NE(first, 0u) << "a PCIDEV line for 3a:00.0";
  ASSERT_NE(second, 0u) << "a PCIDEV line for 3b:00.0";
  EXPECT_NE(first, second) << "each function has its own physical addresses";
  // A store through the mapping, a pread of it, a pwrite, a load of that: each at the BAR's
  // physical address, whichever way it went.
  std::vector<std::string> expected;
  for (auto [bar, stored, written] : {std::tuple{first, "0xcafe0001", "0x3501fffe"},
                                      std::tuple{second, "0xbeef0002", "0x4110fffd"}}) {
    expected.push_back("W " + hex(bar + 0x10) + " " + stored);
    expected.push_back("R " + hex(bar + 0x10) + " " + stored);
    expected.push_back("W " + hex(bar + 0x20) + " " + written);
    expected.push_back("R " + hex(bar + 0x20) + " " + written);
  }
  EXPECT_EQ(accesses(lines), expected);
  // Config space through the device descriptor: identity and command register read, memory
  // decoding turned off and on again.
  std::vector<std::string> config = marks(lines, "pci");
  for (const char* function : {"0000:3a:00.0", "0000:3b:00.0"}) {
    for (const char* access : {" config read 0x0 361b0500", " config read 0x4 0200",
                               " config write 0x4 0000", " config write 0x4 0200"}) {
      std::string line = function + std::string(access);
      EXPECT_EQ(std::count(config.begin(), config.end(), line), 1) << line;
    }
  }
  for (const char* line :
       {"0000:3a:00.0 config read 0x8 5a", "0000:3a:00.0 config read 0x9 000002",
        "0000:3b:00.0 config read 0x8 00", "0000:3b:00.0 config read 0x9 0000ff"}) {
    EXPECT_EQ(std::count(config.begin(), config.end(), line), 1) << line << " (preadv)";
  }
  std::vector<std::string> vfio = marks(lines, "vfio");
  ASSERT_EQ(vfio.size(), 5u);
  EXPECT_EQ(vfio[0], "device unimplemented 0x3ba0");
  // VFIO_PCI_REQ_IRQ_INDEX, vector 0, one, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER.
  EXPECT_EQ(vfio[1], "0000:3a:00.0 irqs 0x4 0x0 0x1 0x21");
  EXPECT_EQ(vfio[2], "0000:3a:00.0 reset");
  EXPECT_TRUE(vfio[3].starts_with("0000:3a:00.0 dma-map 0x100000 0x2000 0x7")) << vfio[3];
  EXPECT_TRUE(vfio[3].ends_with(" 0x3")) << vfio[3];
  EXPECT_EQ(vfio[4], "0000:3a:00.0 dma-unmap 0x100000 0x2000");
}

// Replay puts both functions back on the bus bound to vfio-pci, and serves the driver's mapped
// and pread/pwrite accesses from the trace: the driver prints what it printed when recorded.
TEST(VfioTest, ReplayServesTheDriverItsRecordedAccesses) {
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/trace.txt";
  const std::vector<std::string> driver = {kVfioDriver, "0000:3a:00.0", "0000:3b:00.0"};
  std::vector<std::string> record = {MMIOTRACE_COMMAND,
                                     "record",
                                     "-o",
                                     trace,
                                     "--pci",
                                     "regfile:class=0x020000,revision=0x5a,driver=vfio-pci@3a:00.0",
                                     "--pci",
                                     "regfile:driver=vfio-pci@3b:00.0",
                                     "--"};
  record.insert(record.end(), driver.begin(), driver.end());
  ProgramResult recorded = run_program(record, directory.path());
  if (WIFEXITED(recorded.status) && WEXITSTATUS(recorded.status) == kExitNoPciBus) {
    GTEST_SKIP() << "no private mount namespace here for the virtual PCI bus: " << recorded.err;
  }
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.out << recorded.err;
  std::vector<std::string> replay = {MMIOTRACE_COMMAND, "replay", trace, "--"};
  replay.insert(replay.end(), driver.begin(), driver.end());
  ProgramResult replayed = run_program(replay, directory.path());
  ASSERT_EQ(describe_status(replayed.status), "exited 0") << replayed.out << replayed.err;
  EXPECT_EQ(replayed.out, kDriverOutput);
  for (int map = 1; map <= 4; ++map) {
    std::string line = "replay: map " + std::to_string(map) + " (";
    size_t at = replayed.err.find(line);
    ASSERT_NE(at, std::string::npos) << line << replayed.err;
    EXPECT_NE(replayed.err.find("): all 2 recorded accesses matched", at), std::string::npos)
        << replayed.err;
  }
}

// Without vfio-pci there is no VFIO: the program finds no /dev/vfio/vfio, as on a host without
// the driver.
TEST(VfioTest, FunctionsNotBoundToVfioPciHaveNoVfio) {
  TemporaryDirectory directory;
  ProgramResult run =
      run_program({MMIOTRACE_COMMAND, "record", "-o", directory.path() + "/t.txt", "--pci",
                   "regfile@3a:00.0", "--", kVfioDriver, "0000:3a:00.0", "0000:3a:00.0"},
                  directory.path());
  if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == kExitNoPciBus) {
    GTEST_SKIP() << "no private mount namespace here for the virtual PCI bus: " << run.err;
  }
  if (access("/dev/vfio/vfio", F_OK) == 0) GTEST_SKIP() << "this host has VFIO";
  EXPECT_EQ(describe_status(run.status), "exited 3") << run.out << run.err;
  EXPECT_EQ(run.out, "open /dev/vfio/vfio: No such file or directory\n");
}

}  // namespace
}  // namespace mmiotrace::e2e
