// Real PCI tools, unmodified, finding a virtual PCI function (`mmiotrace record --pci`) by
// enumeration, as they find hardware: lspci and setpci (libpci: sysfs config), radeontool and
// intel_reg (libpciaccess: sysfs resourceN), flashrom (libpci, then /dev/mem at the BAR's
// physical address). Each tool's own output is checked, and its trace holds the accesses it made
// at the BAR's physical address (PCIDEV line) and its configuration reads and writes (markers).
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>
#include <cinttypes>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "installed_programs.hpp"
#include "program_runner.hpp"
#include "trace/markers.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::e2e {
namespace {

// What a trace of a virtual function holds.
struct PciTrace {
  std::vector<std::string> pci_lines;          // PCIDEV
  std::vector<trace::PciConfigMarker> config;  // config reads and writes
  std::map<int, uint64_t> map_phys;            // MAP: physical address
  std::vector<std::string> accesses;           // "R 4 0xPHYS 0xVALUE"
};

PciTrace read_trace(const std::string& path) {
  PciTrace result;
  std::unique_ptr<trace::TraceReader> reader = trace::TraceReader::open(path);
  trace::Event event;
  while (reader->next(event)) {
    std::string text(event.text ? event.text : "", event.text_length);
    switch (event.kind) {
      case trace::EventKind::PciDevice:
        result.pci_lines.push_back(text);
        break;
      case trace::EventKind::Mark:
        if (auto marker = trace::parse_pci_config_marker(text)) {
          if (marker->kind != "contents") result.config.push_back(*marker);
        }
        break;
      case trace::EventKind::Map:
        result.map_phys[event.map_id] = event.phys;
        break;
      case trace::EventKind::Read:
      case trace::EventKind::Write: {
        uint64_t value = 0;
        memcpy(&value, event.value, std::min<size_t>(event.width, 8));
        char line[96];
        snprintf(line, sizeof(line), "%s %u 0x%" PRIx64 " 0x%" PRIx64,
                 event.kind == trace::EventKind::Read ? "R" : "W", event.width, event.phys, value);
        result.accesses.push_back(line);
        break;
      }
      default:
        break;
    }
  }
  return result;
}

// The BAR address the trace's PCIDEV line gives BAR `bar` of the function at bus:devfn `slot`
// ("3b08"...), or 0.
uint64_t bar_address(const PciTrace& trace, const std::string& slot, unsigned bar) {
  for (const std::string& line : trace.pci_lines) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; in >> field;)
      fields.push_back(field);
    if (fields.size() > 4 + bar && fields[1] == slot) {
      return std::stoull(fields[4 + bar], nullptr, 16) & ~uint64_t{0xf};
    }
  }
  return 0;
}

std::vector<std::string> record(const std::string& trace, const std::vector<std::string>& pci,
                                const std::vector<std::string>& command) {
  std::vector<std::string> argv = {MMIOTRACE_COMMAND, "record", "--format", "binary", "-o", trace};
  for (const std::string& function : pci) {
    argv.push_back("--pci");
    argv.push_back(function);
  }
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

void write_image(const std::string& path, size_t size, const std::map<size_t, uint32_t>& words) {
  std::string bytes(size, '\0');
  for (const auto& [offset, value] : words)
    memcpy(&bytes[offset], &value, 4);
  std::ofstream(path, std::ios::binary) << bytes;
}

const std::string kVirtioDump = std::string(MMIOTRACE_TEST_DATA) + "/virtio-net.lspci";

// lspci -vvv shows what the dump of a real virtio network card holds: its identity, its 64-bit
// BAR as the model's, and its six capabilities; lspci -xxx gives the dump back but for the BAR.
TEST(PciClientTest, LspciShowsTheIdentityAndCapabilitiesOfARealDevicesDump) {
  REQUIRE_PROGRAM(lspci, "lspci");
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult run =
      run_program(record(trace, {"regfile:size=512K,config=" + kVirtioDump + "@3a:00.0"},
                         {"sh", "-c", lspci + " -vvv -s 3a:00.0 && " + lspci + " -xxx -s 3a:00.0"}),
                  directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  for (const char* line :
       {"3a:00.0 Ethernet controller: Red Hat, Inc. Virtio 1.0 network device (rev 01)",
        "\tSubsystem: Red Hat, Inc. Virtio 1.0 network device",
        "(64-bit, non-prefetchable) [size=512K]",
        "\tCapabilities: [40] Vendor Specific Information: VirtIO: CommonCfg",
        "\tCapabilities: [70] Vendor Specific Information: VirtIO: Notify",
        "\tCapabilities: [98] MSI-X: Enable+ Count=3 Masked-",
        "\t\tVector table: BAR=0 offset=00008000"}) {
    EXPECT_NE(run.out.find(line), std::string::npos) << line << "\n" << run.out;
  }
  // The dump, byte for byte, but for the status register's error bits, the BAR (the virtual
  // bus's address) and the expansion ROM.
  std::string dump = read_file(kVirtioDump);
  std::string shown = run.out.substr(run.out.find("3a:00.0 Ethernet controller", 10));
  for (const char* row : {"00: f4 1a 41 10 06 04 10 00 01 00 00 02 00 00 00 00\n",
                          "40: 09 50 10 01 00 00 00 00 00 00 00 00 38 00 00 00\n",
                          "90: 00 00 00 00 00 00 00 00 11 00 02 80 00 80 00 00\n"}) {
    EXPECT_NE(dump.find(row), std::string::npos) << row;
    EXPECT_NE(shown.find(row), std::string::npos) << row << shown;
  }
  PciTrace recorded = read_trace(trace);
  uint64_t bar = bar_address(recorded, "3a00", 0);
  EXPECT_NE(bar, 0u) << "a PCIDEV line for 3a:00.0";
  char region[64];
  snprintf(region, sizeof(region), "Region 0: Memory at %" PRIx64 " (64-bit", bar);
  EXPECT_NE(run.out.find(region), std::string::npos) << region << "\n" << run.out;
  ASSERT_FALSE(recorded.config.empty());
  EXPECT_EQ(recorded.config.front().function, "0000:3a:00.0");
  EXPECT_EQ(recorded.config.front().kind, "read");
}

// setpci reads a register, writes the command register, and sizes BAR0 by writing all-ones,
// as BIOSes do; each access is in the trace.
TEST(PciClientTest, SetpciReadsAndWritesConfigRegistersAndSizesABar) {
  REQUIRE_PROGRAM(setpci, "setpci");
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/trace.bin";
  const std::string s = setpci + " -s 3a:00.0 ";
  ProgramResult run = run_program(
      record(trace, {"nvme@3a:00.0"},
             {"sh", "-c",
              s + "VENDOR_ID DEVICE_ID CLASS_DEVICE && " + s + "COMMAND=0006 && " + s +
                  "COMMAND && " + s + "BASE_ADDRESS_0 && " + s + "BASE_ADDRESS_0=ffffffff && " + s +
                  "BASE_ADDRESS_0 && " + s + "VENDOR_ID=ffff && " + s + "VENDOR_ID"}),
      directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  PciTrace recorded = read_trace(trace);
  uint64_t bar = bar_address(recorded, "3a00", 0);
  ASSERT_NE(bar, 0u);
  char address[16];
  snprintf(address, sizeof(address), "%08" PRIx64, bar);
  // QEMU's NVMe identity (1b36:0010, class 0108); a 16 KiB BAR answers all-ones with its size.
  EXPECT_EQ(run.out, std::string("1b36\n0010\n0108\n0006\n") + address + "\nffffc000\n1b36\n");
  bool wrote_command = false;
  for (const trace::PciConfigMarker& marker : recorded.config) {
    if (marker.kind == "write" && marker.offset == 4 && marker.bytes == std::string("\x06\x00", 2))
      wrote_command = true;
  }
  EXPECT_TRUE(wrote_command) << "the COMMAND write is in the trace";
}

// radeontool finds an ATI card by its identity, maps its control BAR (BAR 2) and reads
// registers, which the regfile's image answers.
TEST(PciClientTest, RadeontoolReadsTheRegistersOfAnAtiCard) {
  REQUIRE_PROGRAM(radeontool, "radeontool");
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/radeon.bin";
  write_image(image, 65536, {{0x58, 0x12345678}, {0x280, 0xcafe0001}});
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult run = run_program(
      record(trace,
             {"regfile:image=" + image +
              ",bar=2,vendor=0x1002,device=0x5159,class=0x030000,subsystem_vendor=0x1002@3b:01.0"},
             {radeontool, "regs"}),
      directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_NE(run.out.find("RADEON_DAC_CNTL\t12345678\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("RADEON_DAC_EXT_CNTL\tcafe0001\n"), std::string::npos) << run.out;
  PciTrace recorded = read_trace(trace);
  uint64_t bar = bar_address(recorded, "3b08", 2);
  ASSERT_NE(bar, 0u);
  char expected[64];
  snprintf(expected, sizeof(expected), "R 4 0x%" PRIx64 " 0x12345678", bar + 0x58);
  EXPECT_NE(std::find(recorded.accesses.begin(), recorded.accesses.end(), expected),
            recorded.accesses.end())
      << expected;
}

// The trace of radeontool against the card, replayed: the card is back at its BDF with its
// identity and BAR (lspci says so), and radeontool gets the recorded values from the replay.
TEST(PciClientTest, ReplayPutsTheRecordedCardBackForRadeontool) {
  REQUIRE_PROGRAM(radeontool, "radeontool");
  REQUIRE_PROGRAM(lspci, "lspci");
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/radeon.bin";
  write_image(image, 65536, {{0x58, 0x12345678}, {0x280, 0xcafe0001}});
  const std::string trace = directory.path() + "/trace.txt";
  const std::string script = lspci + " -nn -s 3b:01.0 && " + radeontool + " regs";
  std::vector<std::string> argv = {
      MMIOTRACE_COMMAND,
      "record",
      "-o",
      trace,
      "--pci",
      "regfile:image=" + image + ",bar=2,vendor=0x1002,device=0x5159,class=0x030000@3b:01.0",
      "--",
      "sh",
      "-c",
      script};
  ProgramResult recorded = run_program(argv, directory.path());
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.out << recorded.err;
  ProgramResult replayed =
      run_program({MMIOTRACE_COMMAND, "replay", trace, "--", "sh", "-c", script}, directory.path());
  ASSERT_EQ(describe_status(replayed.status), "exited 0") << replayed.out << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);
  EXPECT_NE(replayed.out.find("3b:01.0 VGA compatible controller [0300]: Advanced Micro Devices, "
                              "Inc. [AMD/ATI] RV100 [Radeon 7000 / Radeon VE] [1002:5159]"),
            std::string::npos)
      << replayed.out;
  EXPECT_NE(replayed.out.find("RADEON_DAC_CNTL\t12345678\n"), std::string::npos) << replayed.out;
  EXPECT_TRUE(std::regex_search(
      replayed.err,
      std::regex(R"(map 1 \(/sys/devices/pci0000:3b/0000:3b:01.0/resource2\): all \d+ recorded)")))
      << replayed.err;
}

// A trace made on hardware names no device files and holds no configuration space: replay finds
// the card from the BAR its mapping lies in (PCIDEV line), at resourceN, and takes the rest of
// its identity from a dump `lspci -xxx` printed (--pci-config).
TEST(PciClientTest, ReplayOfATraceMadeOnHardwareFindsTheCardFromItsPcidevLine) {
  REQUIRE_PROGRAM(radeontool, "radeontool");
  REQUIRE_PROGRAM(lspci, "lspci");
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/radeon.bin";
  write_image(image, 65536, {{0x58, 0x12345678}, {0x280, 0xcafe0001}});
  const std::string recorded_trace = directory.path() + "/recorded.txt";
  const std::string dump = directory.path() + "/radeon.lspci";
  ProgramResult recorded = run_program(
      {MMIOTRACE_COMMAND, "record", "-o", recorded_trace, "--pci",
       "regfile:image=" + image + ",bar=2,vendor=0x1002,device=0x5159,class=0x030000@3b:01.0", "--",
       "sh", "-c", lspci + " -xxx -s 3b:01.0 > " + dump + " && " + radeontool + " regs"},
      directory.path());
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.out << recorded.err;
  // As the kernel's mmiotrace would have it: PCIDEV, MAP and the accesses, no markers.
  const std::string hardware_trace = directory.path() + "/hardware.txt";
  {
    std::ifstream in(recorded_trace);
    std::ofstream out(hardware_trace);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("MARK ", 0) != 0) out << line << "\n";
    }
  }
  ProgramResult replayed = run_program({MMIOTRACE_COMMAND, "replay", hardware_trace, "--pci-config",
                                        dump + "@3b:01.0", "--", radeontool, "regs"},
                                       directory.path());
  ASSERT_EQ(describe_status(replayed.status), "exited 0") << replayed.out << replayed.err;
  EXPECT_EQ(replayed.out, recorded.out);
  EXPECT_TRUE(std::regex_search(
      replayed.err,
      std::regex(R"(map 1 \(/sys/devices/pci0000:3b/0000:3b:01.0/resource2\): all \d+ recorded)")))
      << replayed.err;
  // Without the dump, the card is back with the PCIDEV line's identity alone: no VGA class, so
  // radeontool does not take it for a Radeon and makes none of the recorded accesses.
  ProgramResult identity_only =
      run_program({MMIOTRACE_COMMAND, "replay", hardware_trace, "--", "sh", "-c",
                   lspci + " -n -s 3b:01.0; " + radeontool + " regs"},
                  directory.path());
  EXPECT_EQ(describe_status(identity_only.status), "exited 117") << identity_only.err;
  EXPECT_NE(identity_only.out.find("3b:01.0"), std::string::npos) << identity_only.out;
  EXPECT_NE(identity_only.out.find("1002:5159"), std::string::npos) << identity_only.out;
}

// intel_reg (intel-gpu-tools) finds an Intel GPU, maps BAR0 (2 MiB on Haswell) and reads the
// registers asked for.
TEST(PciClientTest, IntelRegReadsTheRegistersOfAnIntelGpu) {
  REQUIRE_PROGRAM(intel_reg, "intel_reg");
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/gpu.bin";
  write_image(image, 2 << 20, {{0x2030, 0xdeadbeef}, {0x44, 0x00c0ffee}});
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult run = run_program(
      record(trace,
             {"regfile:image=" + image + ",vendor=0x8086,device=0x0412,class=0x030000@3c:00.0"},
             {intel_reg, "read", "0x2030", "0x44"}),
      directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(\(0x00002030\): 0xdeadbeef)"))) << run.out;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(\(0x00000044\): 0x00c0ffee)"))) << run.out;
  PciTrace recorded = read_trace(trace);
  uint64_t bar = bar_address(recorded, "3c00", 0);
  ASSERT_NE(bar, 0u);
  for (auto [offset, value] : {std::pair{0x2030u, 0xdeadbeefu}, std::pair{0x44u, 0x00c0ffeeu}}) {
    char expected[64];
    snprintf(expected, sizeof(expected), "R 4 0x%" PRIx64 " 0x%x", bar + offset, value);
    EXPECT_NE(std::find(recorded.accesses.begin(), recorded.accesses.end(), expected),
              recorded.accesses.end())
        << expected;
  }
}

// flashrom's gfxnvidia programmer finds an NVIDIA card with libpci, reads its BAR0 from the
// configuration space and maps the flash window (BAR0 + 3 MiB) through /dev/mem at that
// physical address, then probes for a parallel flash chip there, which no model answers.
TEST(PciClientTest, FlashromMapsTheBarOfAnNvidiaCardThroughDevMem) {
  REQUIRE_PROGRAM(flashrom, "flashrom");
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult run = run_program(
      record(trace, {"regfile:size=32M,vendor=0x10de,device=0x0010,class=0x030000@3d:00.0"},
             {flashrom, "-p", "gfxnvidia"}),
      directory.path());
  PciTrace recorded = read_trace(trace);
  uint64_t bar = bar_address(recorded, "3d00", 0);
  ASSERT_NE(bar, 0u);
  char detected[80];
  snprintf(detected, sizeof(detected), "Detected NVIDIA I/O base address: 0x%" PRIx64 ".",
           bar + 0x300000);
  EXPECT_NE(run.out.find(detected), std::string::npos) << detected << "\n" << run.out << run.err;
  EXPECT_NE(run.out.find("No EEPROM/flash device found."), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("MEM space accesses disabled"), std::string::npos) << run.out;
  ASSERT_EQ(recorded.map_phys.size(), 1u) << "flashrom mapped the flash window";
  EXPECT_EQ(recorded.map_phys.begin()->second, bar + 0x300000) << "through /dev/mem";
  // Its probes: JEDEC commands written to the window and IDs read back.
  EXPECT_GT(recorded.accesses.size(), 100u);
}

// A function bound to uio_pci_generic: /sys/class/uio/uioN describes its map, and mapping
// /dev/uioN reaches the BAR (python3's mmap module, as a UIO driver written in it would).
TEST(PciClientTest, UioShowsTheMapOfTheBarAndMapsIt) {
  REQUIRE_PROGRAM(python3, "python3");
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/bar.bin";
  write_image(image, 4096, {{0x10, 0xabcd1234}});
  const std::string trace = directory.path() + "/trace.bin";
  const std::string script =
      "import mmap, os, struct\n"
      "uio = os.listdir('/sys/class/uio')[0]\n"
      "maps = '/sys/class/uio/' + uio + '/maps/map0/'\n"
      "print(uio, *(open(maps + f).read().strip() for f in ('addr', 'size', 'name')))\n"
      "fd = os.open('/dev/' + uio, os.O_RDWR)\n"
      "bar = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)\n"
      "print(hex(struct.unpack_from('<I', bar, 0x10)[0]))\n";
  ProgramResult run =
      run_program(record(trace, {"regfile:image=" + image + ",driver=uio_pci_generic@3e:00.0"},
                         {python3, "-c", script}),
                  directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  PciTrace recorded = read_trace(trace);
  uint64_t bar = bar_address(recorded, "3e00", 0);
  ASSERT_NE(bar, 0u);
  char expected[128];
  snprintf(expected, sizeof(expected), "0x%016" PRIx64 " 0x0000000000001000 BAR0\n0xabcd1234\n",
           bar);
  EXPECT_NE(run.out.find(expected), std::string::npos) << expected << run.out;
  snprintf(expected, sizeof(expected), "R 4 0x%" PRIx64 " 0xabcd1234", bar + 0x10);
  EXPECT_NE(std::find(recorded.accesses.begin(), recorded.accesses.end(), expected),
            recorded.accesses.end())
      << expected;
  EXPECT_NE(recorded.pci_lines.back().find(" uio_pci_generic"), std::string::npos)
      << "PCIDEV names the driver";
}

// A bad --pci is one line and exit status 115 before the command runs.
TEST(PciClientTest, BadFunctionsAreRefusedBeforeTheCommandRuns) {
  TemporaryDirectory directory;
  std::ofstream(directory.path() + "/bad.lspci") << "00: 86 80 zz\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"regfile@3a:00", "is not a PCI address"},
      {"regfile:driver=e1000@3a:00.0", "unknown driver 'e1000'"},
      {"regfile:config=bad.lspci@3a:00.0", "bad.lspci:1:11: expected two hex digits"},
      {"regfile:size=1G@3a:00.0", "too large"},
      {"nvme:class=0x030000@3a:00.0", "refuses this identity"},
      {"regfile:vendor=0x10000@3a:00.0", "vendor=0x10000 is not a number"},
  };
  for (const auto& [function, message] : cases) {
    ProgramResult run = run_program(
        {MMIOTRACE_COMMAND, "record", "-o", "/dev/null", "--pci", function, "--", "touch", "ran"},
        directory.path());
    EXPECT_EQ(describe_status(run.status), "exited 115") << function << ": " << run.err;
    EXPECT_NE(run.err.find(message), std::string::npos) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_NE(access((directory.path() + "/ran").c_str(), F_OK), 0) << function;
  }
  ProgramResult twice = run_program({MMIOTRACE_COMMAND, "record", "-o", "/dev/null", "--pci",
                                     "regfile@3a:00.0", "--pci", "nvme@0000:3a:00.0", "--", "true"},
                                    directory.path());
  EXPECT_EQ(describe_status(twice.status), "exited 115") << twice.err;
  EXPECT_NE(twice.err.find("a second function at 0000:3a:00.0"), std::string::npos) << twice.err;
}

// Without root, the bus is shown in an unprivileged user namespace, where the kernel allows one.
TEST(PciClientTest, AnUnprivilegedUserSeesTheBusInAUserNamespace) {
  REQUIRE_PROGRAM(lspci, "lspci");
  REQUIRE_PROGRAM(setpriv, "setpriv");
  if (getuid() != 0) GTEST_SKIP() << "needs root to become another user for the test";
  TemporaryDirectory directory;
  ASSERT_EQ(chmod(directory.path().c_str(), 0777), 0);
  ProgramResult run =
      run_program({setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", MMIOTRACE_COMMAND,
                   "record", "-o", directory.path() + "/trace.txt", "--pci", "nvme@3a:00.0", "--",
                   lspci, "-n", "-s", "3a:00.0"},
                  directory.path());
  if (describe_status(run.status) == "exited 114") {
    GTEST_SKIP() << "this kernel gives unprivileged users no user namespace: " << run.err;
  }
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_EQ(run.out, "3a:00.0 0108: 1b36:0010 (rev 02)\n");
}

}  // namespace
}  // namespace mmiotrace::e2e
