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

// The GPIO registers rpi_gpio finds (a 4096-byte file, as /dev/gpiomem maps): GPIO 14 and 15 on
// ALT0 (the UART of the Pi's serial console), GPIO 17 an output, which the example must make an
// input, keeping the others; GPLEV0 the levels it reads.
std::string gpio_registers(uint32_t gplev0) {
  std::string registers(4096, '\0');
  auto put32 = [&](size_t offset, uint32_t value) {
    for (int i = 0; i < 4; ++i)
      registers[offset + i] = static_cast<char>(value >> (8 * i));
  };
  put32(0x04, 0x00224000);  // GPFSEL1: FSEL14 = FSEL15 = ALT0 (0b100), FSEL17 = OUTPUT
  put32(0x34, gplev0);
  return registers;
}

const char* const kRpiGpioOutput =
    "GPFSEL1 0x00224000 -> 0x01024000: GPIO 14 ALT0, 15 ALT0, 17 input, 18 output\n"
    "GPFSEL4 0x00200000: GPIO 47 output\n"
    "button on GPIO 17: high (released)\n"
    "blinked GPIO 18 and 47 3 times\n"
    "GPIO 18 and 47 back to input\n";

// The Raspberry Pi GPIO example against the regfile model, as `mmiotrace record --device`
// makes it: it behaves as on a plain file, and the BCM2835 register map names every access.
TEST(Examples, RpiGpioDrivesTheBcm2835RegistersTracedAsUntraced) {
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/gpio.img";
  std::ofstream(image, std::ios::binary) << gpio_registers(1u << 17);
  const std::string untraced_file = directory.path() + "/untraced-gpiomem";
  std::ofstream(untraced_file, std::ios::binary) << gpio_registers(1u << 17);
  ProgramResult untraced = run_program({EXAMPLES_DIR "/rpi_gpio", untraced_file}, directory.path());
  ASSERT_EQ(describe_status(untraced.status), "exited 0") << untraced.err;
  EXPECT_EQ(untraced.out, kRpiGpioOutput);

  // Against the model, whose registers start as the image.
  const std::string trace = directory.path() + "/trace.txt";
  ProgramResult traced = run_program({MMIOTRACE_COMMAND, "record", "-o", trace, "--device",
                                      "regfile:image=" + image + "@/dev/fake-gpiomem", "--",
                                      EXAMPLES_DIR "/rpi_gpio", "/dev/fake-gpiomem"},
                                     directory.path());
  EXPECT_EQ(describe_status(traced.status), describe_status(untraced.status)) << traced.err;
  EXPECT_EQ(traced.out, untraced.out);
  EXPECT_EQ(traced.err, untraced.err);

  // Traced on a plain file, which ends as the untraced run left its own.
  const std::string traced_file = directory.path() + "/traced-gpiomem";
  std::ofstream(traced_file, std::ios::binary) << gpio_registers(1u << 17);
  ProgramResult on_file =
      run_program({MMIOTRACE_COMMAND, "record", "-o", directory.path() + "/file-trace.txt",
                   "--trace", traced_file, "--", EXAMPLES_DIR "/rpi_gpio", traced_file},
                  directory.path());
  EXPECT_EQ(describe_status(on_file.status), "exited 0") << on_file.err;
  EXPECT_EQ(on_file.out, untraced.out);
  EXPECT_EQ(read_file(traced_file), read_file(untraced_file));

  // Each access: direction, offset, value and the register the map names.
  const std::string map = MMIOTRACE_SOURCE_DIR "/examples/register-maps/bcm2835_gpio.yaml";
  ProgramResult dump =
      run_program({MMIOTRACE_COMMAND, "dump", "--regs", map, trace}, directory.path());
  ASSERT_EQ(describe_status(dump.status), "exited 0") << dump.err;
  std::vector<std::string> accesses;
  std::vector<std::string> decoded;
  std::istringstream lines(dump.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string kind, width, time, map_id, offset, value;
    fields >> kind >> width >> time >> map_id >> offset >> value;
    if (kind != "R" && kind != "W") continue;
    size_t named = line.find("  ; ");
    std::string name = named == std::string::npos ? "" : line.substr(named + 4);
    decoded.push_back(name);
    accesses.push_back(kind + " " + width + " " + offset + " " + value + " " +
                       name.substr(0, name.find(' ')));
  }
  std::vector<std::string> expected = {
      "R 4 0x4 0x224000 GPIO.GPFSEL1",
      // GPIO 17 an input, keeping the UART's pins; its pull-up, as the datasheet sequences it
      "R 4 0x4 0x224000 GPIO.GPFSEL1", "W 4 0x4 0x24000 GPIO.GPFSEL1", "W 4 0x94 0x2 GPIO.GPPUD",
      "W 4 0x98 0x20000 GPIO.GPPUDCLK0", "W 4 0x94 0x0 GPIO.GPPUD", "W 4 0x98 0x0 GPIO.GPPUDCLK0",
      // GPIO 18 and 47 outputs
      "R 4 0x4 0x24000 GPIO.GPFSEL1", "W 4 0x4 0x1024000 GPIO.GPFSEL1", "R 4 0x10 0x0 GPIO.GPFSEL4",
      "W 4 0x10 0x200000 GPIO.GPFSEL4", "R 4 0x4 0x1024000 GPIO.GPFSEL1",
      "R 4 0x10 0x200000 GPIO.GPFSEL4", "R 4 0x34 0x20000 GPIO.GPLEV0"};
  for (int blink = 0; blink < 3; ++blink) {
    expected.insert(expected.end(),
                    {"W 4 0x1c 0x40000 GPIO.GPSET0", "W 4 0x2c 0x8000 GPIO.GPCLR1",
                     "W 4 0x28 0x40000 GPIO.GPCLR0", "W 4 0x20 0x8000 GPIO.GPSET1"});
  }
  expected.insert(expected.end(), {"R 4 0x4 0x1024000 GPIO.GPFSEL1", "W 4 0x4 0x24000 GPIO.GPFSEL1",
                                   "R 4 0x10 0x200000 GPIO.GPFSEL4", "W 4 0x10 0x0 GPIO.GPFSEL4",
                                   "R 4 0x4 0x24000 GPIO.GPFSEL1", "R 4 0x10 0x0 GPIO.GPFSEL4"});
  EXPECT_EQ(accesses, expected) << dump.out;
  // The fields of the writes that matter.
  ASSERT_EQ(decoded.size(), expected.size());
  EXPECT_EQ(decoded[3], "GPIO.GPPUD PUD=UP");
  EXPECT_EQ(decoded[8],
            "GPIO.GPFSEL1 FSEL10=INPUT FSEL11=INPUT FSEL12=INPUT FSEL13=INPUT FSEL14=ALT0 "
            "FSEL15=ALT0 FSEL16=INPUT FSEL17=INPUT FSEL18=OUTPUT FSEL19=INPUT");
  EXPECT_NE(decoded[10].find(" FSEL47=OUTPUT "), std::string::npos) << decoded[10];

  // The report names the registers too.
  ProgramResult report =
      run_program({MMIOTRACE_COMMAND, "report", "--regs", map, trace}, directory.path());
  ASSERT_EQ(describe_status(report.status), "exited 0") << report.err;
  for (const char* name :
       {"GPIO.GPFSEL1", "GPIO.GPFSEL4", "GPIO.GPPUD", "GPIO.GPPUDCLK0", "GPIO.GPLEV0",
        "GPIO.GPSET0", "GPIO.GPCLR0", "GPIO.GPSET1", "GPIO.GPCLR1"}) {
    EXPECT_NE(report.out.find(name), std::string::npos) << name << " in\n" << report.out;
  }
}

// The BCM2835 GPIO map in its two formats names each word of the GPIO block as the datasheet's
// table does (section 6.1), and decodes fields alike: a trace that writes and reads every word
// (and, across fields, two bytes of GPFSEL1) is dumped with each.
TEST(Examples, Bcm2835GpioMapNamesTheDatasheetsRegistersInYamlAndSvd) {
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/all-registers.txt";
  {
    std::ofstream out(trace);
    out << "VERSION 20070824\nMAP 1.000000 1 0x0 0x7f0000000000 0x1000 0x400000 100\n";
    for (unsigned offset = 0; offset < 0xb4; offset += 4) {
      out << "W 4 2.000000 1 0x" << std::hex << offset << " 0xffffffff 0x400000 100\n"
          << "R 4 3.000000 1 0x" << offset << " 0x12345678 0x400000 100\n"
          << std::dec;
    }
    out << "W 2 4.000000 1 0x6 0x1ff 0x400000 100\n";
  }
  std::string decoded[2];
  int format = 0;
  for (const char* map : {"bcm2835_gpio.yaml", "bcm2835_gpio.svd"}) {
    ProgramResult dump =
        run_program({MMIOTRACE_COMMAND, "dump", "--regs",
                     std::string(MMIOTRACE_SOURCE_DIR "/examples/register-maps/") + map, trace},
                    directory.path());
    ASSERT_EQ(describe_status(dump.status), "exited 0") << map << ": " << dump.err;
    decoded[format++] = dump.out;
  }
  EXPECT_EQ(decoded[1], decoded[0]);
  // The register each write names: reserved words are named by their offset in the block.
  std::vector<std::string> names;
  std::istringstream lines(decoded[0]);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("W 4 ", 0) != 0) continue;
    size_t named = line.find("  ; ");
    ASSERT_NE(named, std::string::npos) << line;
    names.push_back(line.substr(named + 4, line.find(' ', named + 4) - named - 4));
  }
  // A line for each row of the datasheet's table, which clang-format would run together:
  // clang-format off
  const std::vector<std::string> expected = {
      "GPIO.GPFSEL0", "GPIO.GPFSEL1", "GPIO.GPFSEL2", "GPIO.GPFSEL3", "GPIO.GPFSEL4",
      "GPIO.GPFSEL5", "GPIO+0x18",
      "GPIO.GPSET0", "GPIO.GPSET1", "GPIO+0x24",
      "GPIO.GPCLR0", "GPIO.GPCLR1", "GPIO+0x30",
      "GPIO.GPLEV0", "GPIO.GPLEV1", "GPIO+0x3c",
      "GPIO.GPEDS0", "GPIO.GPEDS1", "GPIO+0x48",
      "GPIO.GPREN0", "GPIO.GPREN1", "GPIO+0x54",
      "GPIO.GPFEN0", "GPIO.GPFEN1", "GPIO+0x60",
      "GPIO.GPHEN0", "GPIO.GPHEN1", "GPIO+0x6c",
      "GPIO.GPLEN0", "GPIO.GPLEN1", "GPIO+0x78",
      "GPIO.GPAREN0", "GPIO.GPAREN1", "GPIO+0x84",
      "GPIO.GPAFEN0", "GPIO.GPAFEN1", "GPIO+0x90",
      "GPIO.GPPUD", "GPIO.GPPUDCLK0", "GPIO.GPPUDCLK1",
      "GPIO+0xa0", "GPIO+0xa4", "GPIO+0xa8", "GPIO+0xac", "GPIO+0xb0"};
  // clang-format on
  EXPECT_EQ(names, expected);
  EXPECT_NE(
      decoded[0].find("  ; GPIO.GPFSEL0 FSEL0=INPUT FSEL1=ALT3 FSEL2=OUTPUT FSEL3=ALT4 "
                      "FSEL4=ALT1 FSEL5=INPUT FSEL6=ALT1 FSEL7=OUTPUT FSEL8=ALT5 FSEL9=ALT5\n"),
      std::string::npos)
      << decoded[0];
  EXPECT_NE(decoded[0].find("  ; GPIO.GPFSEL5 FSEL50=ALT3 FSEL51=ALT3 FSEL52=ALT3 FSEL53=ALT3\n"),
            std::string::npos)
      << decoded[0];
  // PUD's value 3 is reserved: it has no name.
  EXPECT_NE(decoded[0].find("  ; GPIO.GPPUD PUD=0x3\n"), std::string::npos) << decoded[0];
  EXPECT_NE(decoded[0].find("  ; GPIO.GPFSEL1[31:16] FSEL15[2:1]=0x3 FSEL16=ALT3 FSEL17=ALT3 "
                            "FSEL18=OUTPUT FSEL19=INPUT\n"),
            std::string::npos)
      << decoded[0];
}

// The button's level is read from GPLEV0, not assumed.
TEST(Examples, RpiGpioReadsTheButtonFromGplev0) {
  TemporaryDirectory directory;
  const std::string file = directory.path() + "/gpiomem";
  std::ofstream(file, std::ios::binary) << gpio_registers(~(1u << 17));
  ProgramResult result = run_program({EXAMPLES_DIR "/rpi_gpio", file}, directory.path());
  EXPECT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_NE(result.out.find("button on GPIO 17: low (pressed)\n"), std::string::npos) << result.out;
}

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
