// AArch64 programs on this x86-64 machine, under qemu-aarch64: Debian's arm64 memtester, sqlite3
// and busybox (scripts/setup unpacks their packages into ARM64_CLIENTS_DIR) and the AArch64 build
// of examples/rpi_gpio.c. Untraced, each must do its work as its x86-64 build does; under
// `mmiotrace record`, which runs it under qemu-aarch64 with the AArch64 shim preloaded, it must
// behave as untraced and its trace hold its accesses. The traced tests skip while there is no
// AArch64 shim to preload (the message says so).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>

#include "client_checks.hpp"
#include "installed_programs.hpp"
#include "program_runner.hpp"
#include "qemu_aarch64.hpp"
#include "sqlite_workload.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::e2e {
namespace {

// The arm64 program at `relative` in ARM64_CLIENTS_DIR, or the test fails saying what to do.
#define REQUIRE_ARM64_CLIENT(variable, relative)                                             \
  const std::string variable = std::string(ARM64_CLIENTS_DIR) + "/" + relative;              \
  ASSERT_EQ(access(variable.c_str(), X_OK), 0)                                               \
      << "the arm64 " << relative << " is not in " ARM64_CLIENTS_DIR ": run scripts/setup, " \
      << "which unpacks Debian's arm64 packages of the clients there"

class Arm64ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    qemu_ = find_qemu_aarch64();
    ASSERT_FALSE(qemu_.empty()) << "qemu-aarch64 is not on $PATH: run scripts/setup, which "
                                   "installs qemu-user";
  }
  // The traced tests need the AArch64 shim that record preloads.
  bool have_arm64_shim() const { return !arm64_shim_library(ARM64_SHIM_LIBRARY).empty(); }
  // `command` under qemu-aarch64, untraced, in `directory`.
  ProgramResult untraced(const std::vector<std::string>& command, const std::string& directory) {
    return run_program(under_qemu(qemu_, command), directory);
  }
  std::string qemu_;
};

// Skips a traced test while there is no AArch64 shim for record to preload.
#define REQUIRE_ARM64_SHIM()      \
  if (!have_arm64_shim()) {       \
    GTEST_SKIP() << kNoArm64Shim; \
  }
const char* const kNoArm64Shim = "no AArch64 shim to trace with: " ARM64_SHIM_LIBRARY
                                 " is not built (scripts/build --arch arm64), and "
                                 "MMIOTRACE_ARM64_LIBRARY names none";

// memtester on /dev/zero mapped shared, one loop, as the x86-64 client test runs it, on 4 KiB
// instead of 16: traced, every access is a signal under qemu-user, and 16 KiB took 156 s here.
constexpr unsigned kMemtesterBytes = 4096;
std::vector<std::string> memtester_command(const std::string& memtester) {
  return {memtester, "-p", "0", "-d", "/dev/zero", std::to_string(kMemtesterBytes / 1024) + "K",
          "1"};
}

TEST_F(Arm64ClientTest, MemtesterOnDevZeroUnderQemu) {
  REQUIRE_ARM64_CLIENT(memtester, "usr/sbin/memtester");
  TemporaryDirectory directory;
  ProgramResult run = untraced(memtester_command(memtester), directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_EQ(run.out.find("FAILURE"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Walking Zeroes"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Done."), std::string::npos) << run.out;
}

TEST_F(Arm64ClientTest, MemtesterOnDevZeroTraced) {
  REQUIRE_ARM64_CLIENT(memtester, "usr/sbin/memtester");
  REQUIRE_ARM64_SHIM();
  TemporaryDirectory directory;
  const std::vector<std::string> command = memtester_command(memtester);
  ProgramResult untraced_run = untraced(command, directory.path());
  ASSERT_EQ(describe_status(untraced_run.status), "exited 0") << untraced_run.err;
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult traced_run = run_program(traced(trace, {"/dev/zero"}, command), directory.path());
  expect_same_behaviour(traced_run, untraced_run);
  EXPECT_EQ(traced_run.out.find("FAILURE"), std::string::npos) << traced_run.out;
  TraceSummary summary = summarize(trace);
  EXPECT_EQ(summary.maps, 1u);
  // Every pattern of every test is written to and read back from all of it, 8 bytes at a time.
  EXPECT_GT(summary.writes, 100u * kMemtesterBytes / 8);
  EXPECT_GT(summary.reads, 100u * kMemtesterBytes / 8);
  EXPECT_EQ(summary.outside, 0u);
  EXPECT_EQ(summary.unknown, 0u);
}

// sqlite3 given the x86-64 client test's workload in a fresh directory, its command line after
// `runner`'s words; with a `trace` name, under record writing that trace, whose content is
// checked.
ProgramResult run_sqlite3(const std::vector<std::string>& runner, const std::string& sqlite3,
                          const std::string& trace = "",
                          const std::vector<std::string>& environment = {}) {
  TemporaryDirectory directory;
  std::ofstream(directory.path() + "/script.sql") << clients::sqlite_create_script(3000);
  std::vector<std::string> command = {sqlite3, "-batch", "test.db", ".read script.sql"};
  if (!trace.empty()) {
    command = traced(directory.path() + "/" + trace, {directory.path() + "/test.db*"}, command);
  }
  command.insert(command.begin(), runner.begin(), runner.end());
  ProgramResult result = run_program(command, directory.path(), environment);
  if (!trace.empty()) {
    TraceSummary summary = summarize(directory.path() + "/" + trace);
    // The database file and its WAL index (test.db-shm) were mapped and used.
    EXPECT_GE(summary.maps, 2u);
    EXPECT_GT(summary.reads, 1000u);
    EXPECT_GT(summary.writes, 100u);
    EXPECT_EQ(summary.outside, 0u);
    EXPECT_EQ(summary.unknown, 0u);
  }
  return result;
}

// The arm64 sqlite3 gives the x86-64 one's results, to the database's hash.
TEST_F(Arm64ClientTest, Sqlite3WithMmapAndWalUnderQemu) {
  REQUIRE_ARM64_CLIENT(sqlite3, "usr/bin/sqlite3");
  REQUIRE_PROGRAM(native_sqlite3, "sqlite3");
  ProgramResult run = run_sqlite3(under_qemu(qemu_, {}), sqlite3);
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.err;
  EXPECT_NE(run.out.find("\nok\n"), std::string::npos) << run.out;
  ProgramResult native = run_sqlite3({}, native_sqlite3);
  EXPECT_EQ(run.out, native.out);
  EXPECT_EQ(run.err, native.err);
}

TEST_F(Arm64ClientTest, Sqlite3WithMmapAndWalTraced) {
  REQUIRE_ARM64_CLIENT(sqlite3, "usr/bin/sqlite3");
  REQUIRE_ARM64_SHIM();
  ProgramResult untraced_run = run_sqlite3(under_qemu(qemu_, {}), sqlite3);
  ASSERT_EQ(describe_status(untraced_run.status), "exited 0") << untraced_run.err;
  ProgramResult traced_run = run_sqlite3({}, sqlite3, "trace.bin");
  expect_same_behaviour(traced_run, untraced_run);
  EXPECT_NE(traced_run.out.find("\nok\n"), std::string::npos) << traced_run.out;
}

// On qemu's CPU with SVE, glibc's string functions load and store the database's pages with SVE
// instructions, which run out of line: sqlite3 still gives its untraced results, and the trace
// holds their accesses as well.
TEST_F(Arm64ClientTest, Sqlite3OnACpuWithSveTraced) {
  REQUIRE_ARM64_CLIENT(sqlite3, "usr/bin/sqlite3");
  REQUIRE_ARM64_SHIM();
  const std::vector<std::string> with_sve = {"QEMU_CPU=max"};
  ProgramResult untraced_run = run_sqlite3(under_qemu(qemu_, {}, with_sve), sqlite3, "", with_sve);
  ASSERT_EQ(describe_status(untraced_run.status), "exited 0") << untraced_run.err;
  ProgramResult traced_run =
      run_sqlite3({}, sqlite3, "trace.bin", {"QEMU_CPU=max", "MMIOTRACE_STATS=1"});
  EXPECT_EQ(describe_status(traced_run.status), "exited 0") << traced_run.err;
  EXPECT_EQ(traced_run.out, untraced_run.out);
  EXPECT_NE(traced_run.out.find("\nok\n"), std::string::npos) << traced_run.out;
  // The statistics line says how many ran out of line: some must have.
  const std::regex out_of_line(" ([0-9]+) run out of line");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(traced_run.err, match, out_of_line)) << traced_run.err;
  EXPECT_GT(std::stoul(match[1]), 0u) << traced_run.err;
}

// busybox devmem against a file bind-mounted on /dev/mem in a private mount namespace (made by
// `unshare`), as the x86-64 client test runs it: `devmem` is the shell's words that run busybox
// devmem (under qemu, or record), each of `commands` its arguments. What they print, and the
// file after.
struct DevmemRun {
  ProgramResult result;
  std::string memory;
  bool skipped = false;
};

DevmemRun run_devmem(const std::string& unshare, const std::string& devmem,
                     const std::vector<std::string>& commands) {
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/mem.img";
  {
    std::ofstream out(image, std::ios::binary);
    for (int i = 0; i < 65536; ++i)
      out.put(static_cast<char>(i * 7 + 3));
  }
  std::string script = dev_mem_bound_to("mem.img");
  for (const std::string& command : commands)
    script += devmem + " " + command + "\n";
  DevmemRun run;
  run.result = run_program({unshare, "-m", "sh", "-c", script}, directory.path());
  run.skipped = run.result.err.find("unshare failed") != std::string::npos ||
                run.result.err.find("Operation not permitted") != std::string::npos;
  run.memory = read_file(image);
  return run;
}

std::string quoted(const std::string& word) {
  return "'" + word + "'";
}

TEST_F(Arm64ClientTest, BusyboxDevmemOnABindMountedDevMemUnderQemu) {
  REQUIRE_ARM64_CLIENT(busybox, "bin/busybox");
  REQUIRE_PROGRAM(unshare, "unshare");
  std::string devmem;
  for (const std::string& word : under_qemu(qemu_, {busybox, "devmem"}))
    devmem += quoted(word) + " ";
  DevmemRun run = run_devmem(unshare, devmem, {"0x2010 32 0x12345678", "0x2010 32", "0x3001 8"});
  if (run.skipped)
    GTEST_SKIP() << "no private mount namespace here (needs root): " << run.result.err;
  ASSERT_EQ(describe_status(run.result.status), "exited 0") << run.result.out << run.result.err;
  EXPECT_EQ(run.result.out, "0x12345678\n0x0A\n");  // byte 0x3001 is 0x3001 * 7 + 3
  uint32_t stored = 0;
  ASSERT_EQ(run.memory.size(), 65536u);
  memcpy(&stored, run.memory.data() + 0x2010, 4);
  EXPECT_EQ(stored, 0x12345678u) << "the write reached the file";
}

// Each devmem traced on its own, its trace beside the file: its one mapping and one access.
TEST_F(Arm64ClientTest, BusyboxDevmemOnABindMountedDevMemTraced) {
  REQUIRE_ARM64_CLIENT(busybox, "bin/busybox");
  REQUIRE_PROGRAM(unshare, "unshare");
  REQUIRE_ARM64_SHIM();
  const std::vector<std::string> commands = {"0x2010 32 0x12345678", "0x2010 32", "0x3001 8"};
  std::string under_qemu_devmem;
  for (const std::string& word : under_qemu(qemu_, {busybox, "devmem"}))
    under_qemu_devmem += quoted(word) + " ";
  DevmemRun untraced_run = run_devmem(unshare, under_qemu_devmem, commands);
  if (untraced_run.skipped) GTEST_SKIP() << "no private mount namespace here (needs root)";
  ASSERT_EQ(describe_status(untraced_run.result.status), "exited 0") << untraced_run.result.err;
  // The traces go to the test's directory, named by a counter (the shell's own variable).
  TemporaryDirectory traces;
  const std::string recorded_devmem = "n=$((n+1)); " + quoted(MMIOTRACE_COMMAND) +
                                      " record --format binary -o " + traces.path() +
                                      "/trace$n.bin -- " + quoted(busybox) + " devmem";
  DevmemRun traced_run = run_devmem(unshare, recorded_devmem, commands);
  expect_same_behaviour(traced_run.result, untraced_run.result);
  EXPECT_EQ(traced_run.memory, untraced_run.memory);
  const std::vector<std::string> expected[] = {{"MAP 8192 4096", "W 4 8208 305419896"},
                                               {"MAP 8192 4096", "R 4 8208 305419896"},
                                               {"MAP 12288 4096", "R 1 12289 10"}};
  for (int n = 1; n <= 3; ++n) {
    const std::string trace = traces.path() + "/trace" + std::to_string(n) + ".bin";
    const std::vector<std::string> seen = maps_and_accesses(trace);
    EXPECT_EQ(seen, expected[n - 1]) << trace;
  }
}

// The GPIO registers examples/rpi_gpio.c finds, as the end-to-end test of the example gives
// them: GPIO 14 and 15 on ALT0, GPIO 17 an output, and GPIO 17 reading high.
std::string gpio_registers() {
  std::string registers(4096, '\0');
  const uint32_t gpfsel1 = 0x00224000, gplev0 = 1u << 17;
  memcpy(registers.data() + 0x04, &gpfsel1, 4);
  memcpy(registers.data() + 0x34, &gplev0, 4);
  return registers;
}

// The accesses of a trace: direction, width, offset in the mapping and value.
std::vector<std::string> register_accesses(const std::string& trace) {
  std::unique_ptr<trace::TraceReader> reader = trace::TraceReader::open(trace);
  trace::Event event;
  std::vector<std::string> accesses;
  uint64_t map_begin = 0;
  while (reader->next(event)) {
    if (event.kind == trace::EventKind::Map) map_begin = event.phys;
    if (event.kind != trace::EventKind::Read && event.kind != trace::EventKind::Write) continue;
    uint64_t value = 0;
    memcpy(&value, event.value, event.width <= 8 ? event.width : 8);
    accesses.push_back(std::string(event.kind == trace::EventKind::Read ? "R " : "W ") +
                       std::to_string(event.width) + " " + std::to_string(event.phys - map_begin) +
                       " " + std::to_string(value));
  }
  return accesses;
}

// The AArch64 build of the GPIO example does what the x86-64 one does, to the file's last byte.
TEST_F(Arm64ClientTest, RpiGpioUnderQemu) {
  ASSERT_STRNE(ARM64_RPI_GPIO, "") << "aarch64-linux-gnu-gcc was not found when the build was "
                                      "configured: run scripts/setup, then configure again";
  TemporaryDirectory directory;
  const std::string arm64_file = directory.path() + "/arm64-gpiomem";
  const std::string native_file = directory.path() + "/native-gpiomem";
  std::ofstream(arm64_file, std::ios::binary) << gpio_registers();
  std::ofstream(native_file, std::ios::binary) << gpio_registers();
  ProgramResult arm64 = untraced({ARM64_RPI_GPIO, arm64_file}, directory.path());
  ProgramResult native = run_program({RPI_GPIO, native_file}, directory.path());
  ASSERT_EQ(describe_status(arm64.status), "exited 0") << arm64.err;
  EXPECT_NE(arm64.out.find("button on GPIO 17: high (released)\n"), std::string::npos) << arm64.out;
  expect_same_behaviour(arm64, native);
  EXPECT_EQ(read_file(arm64_file), read_file(native_file));
}

// Traced against the regfile model: as untraced, and the same register accesses as the x86-64
// build's trace, in the same order.
TEST_F(Arm64ClientTest, RpiGpioAgainstTheRegfileModelTraced) {
  ASSERT_STRNE(ARM64_RPI_GPIO, "") << "aarch64-linux-gnu-gcc was not found when the build was "
                                      "configured: run scripts/setup, then configure again";
  REQUIRE_ARM64_SHIM();
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/gpio.img";
  std::ofstream(image, std::ios::binary) << gpio_registers();
  const std::string file = directory.path() + "/gpiomem";
  std::ofstream(file, std::ios::binary) << gpio_registers();
  ProgramResult untraced_run = untraced({ARM64_RPI_GPIO, file}, directory.path());
  ASSERT_EQ(describe_status(untraced_run.status), "exited 0") << untraced_run.err;
  const std::string device = "regfile:image=" + image + "@/dev/fake-gpiomem";
  const std::string arm64_trace = directory.path() + "/arm64.bin";
  const std::string native_trace = directory.path() + "/native.bin";
  ProgramResult traced_run =
      run_program({MMIOTRACE_COMMAND, "record", "-o", arm64_trace, "--device", device, "--",
                   ARM64_RPI_GPIO, "/dev/fake-gpiomem"},
                  directory.path());
  expect_same_behaviour(traced_run, untraced_run);
  ProgramResult native = run_program({MMIOTRACE_COMMAND, "record", "-o", native_trace, "--device",
                                      device, "--", RPI_GPIO, "/dev/fake-gpiomem"},
                                     directory.path());
  ASSERT_EQ(describe_status(native.status), "exited 0") << native.err;
  std::vector<std::string> accesses = register_accesses(arm64_trace);
  EXPECT_EQ(accesses.size(), 32u);
  EXPECT_EQ(accesses, register_accesses(native_trace));
  // The map names them.
  ProgramResult report = run_program(
      {MMIOTRACE_COMMAND, "report", "--regs", BCM2835_GPIO_MAP, arm64_trace}, directory.path());
  ASSERT_EQ(describe_status(report.status), "exited 0") << report.err;
  for (const char* name : {"GPIO.GPFSEL1", "GPIO.GPPUD", "GPIO.GPLEV0", "GPIO.GPSET1"})
    EXPECT_NE(report.out.find(name), std::string::npos) << name << " in\n" << report.out;
}

}  // namespace
}  // namespace mmiotrace::e2e
