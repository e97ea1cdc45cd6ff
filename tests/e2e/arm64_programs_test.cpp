// End-to-end tests of `mmiotrace record` given a program of another architecture: an AArch64
// one runs under qemu-aarch64 with the AArch64 shim preloaded into it, and the others are refused
// with the architecture named. The AArch64 programs of arm64/ are traced with the AArch64 shim of
// build-arm64 (scripts/build --arch arm64) and compared with their untraced runs and with
// arm64/NAME.expected (MMIOTRACE_REBASE=1 writes the normalized traces back as expectations).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>

#include "program_runner.hpp"
#include "qemu_aarch64.hpp"

namespace mmiotrace::e2e {
namespace {

// The first bytes of an ELF file: identification, e_type and e_machine, in the file's byte
// order, and zeros to the size of a 64-bit header. Enough for record's check, which runs first.
std::string elf_header(unsigned char elf_class, unsigned char data, uint16_t machine) {
  std::string header(64, '\0');
  header.replace(0, 4,
                 "\x7f"
                 "ELF");
  header[4] = static_cast<char>(elf_class);
  header[5] = static_cast<char>(data);
  header[6] = 1;  // EV_CURRENT
  bool big = data == 2;
  auto put16 = [&](size_t at, uint16_t value) {
    header[at + (big ? 1 : 0)] = static_cast<char>(value & 0xff);
    header[at + (big ? 0 : 1)] = static_cast<char>(value >> 8);
  };
  put16(16, 2);  // ET_EXEC
  put16(18, machine);
  return header;
}

class Arm64ProgramsTest : public ::testing::Test {
 protected:
  ProgramResult record(std::vector<std::string> arguments,
                       const std::vector<std::string>& environment = {}) {
    arguments.insert(arguments.begin(), {MMIOTRACE_COMMAND, "record"});
    return run_program(arguments, directory_.path(), environment);
  }
  void expect_error(const ProgramResult& result, int status, const std::string& needle) {
    EXPECT_EQ(describe_status(result.status), "exited " + std::to_string(status));
    EXPECT_EQ(result.err.rfind("mmiotrace: ", 0), 0u) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find(needle), std::string::npos) << result.err;
  }
  // An executable file in the test's directory holding `bytes`.
  std::string executable(const std::string& name, const std::string& bytes) {
    std::string path = directory_.path() + "/" + name;
    { std::ofstream(path, std::ios::binary) << bytes; }
    chmod(path.c_str(), 0755);
    return path;
  }
  void require_arm64_program() {
    if (std::string(ARM64_PROGRAM).empty()) {
      GTEST_SKIP() << "aarch64-linux-gnu-gcc was not found when the tests were configured: no "
                      "AArch64 test program (scripts/setup installs g++-aarch64-linux-gnu)";
    }
  }
  void require_qemu() {
    if (find_qemu_aarch64().empty()) {
      GTEST_SKIP() << "no qemu-aarch64 (scripts/setup installs qemu-user)";
    }
  }
  TemporaryDirectory directory_;
};

TEST_F(Arm64ProgramsTest, BigEndianAarch64IsRefused) {
  std::string program = executable("be_program", elf_header(2, 2, 183));
  expect_error(record({"-o", "trace.txt", "--", program}), 113,
               "is a big-endian AArch64 (aarch64_be) program");
  EXPECT_FALSE(std::ifstream(directory_.path() + "/trace.txt").good()) << "no trace is started";
}

TEST_F(Arm64ProgramsTest, ForeignArchitecturesAreRefusedByName) {
  expect_error(record({"-o", "trace.txt", "--", executable("arm32", elf_header(1, 1, 40))}), 113,
               "is a 32-bit ARM program; mmiotrace traces x86-64 programs, and AArch64 ones");
  expect_error(record({"-o", "trace.txt", "--", executable("i386", elf_header(1, 1, 3))}), 113,
               "is a 32-bit x86 (i386) program");
  expect_error(record({"-o", "trace.txt", "--", executable("riscv", elf_header(2, 1, 243))}), 113,
               "is a 64-bit RISC-V program");
  EXPECT_FALSE(std::ifstream(directory_.path() + "/trace.txt").good()) << "no trace is started";
}

TEST_F(Arm64ProgramsTest, QemuRunsTheProgramUntraced) {
  require_arm64_program();
  require_qemu();
  ProgramResult result = run_program(under_qemu(find_qemu_aarch64(), {ARM64_PROGRAM, "one", "two"}),
                                     directory_.path());
  EXPECT_EQ(describe_status(result.status), "exited 3") << result.err;
  EXPECT_EQ(result.out, std::string("AArch64 program: ") + ARM64_PROGRAM + " one two\n");
}

TEST_F(Arm64ProgramsTest, NoQemuIsRefused) {
  require_arm64_program();
  expect_error(record({"-o", "trace.txt", "--qemu", directory_.path() + "/no-such-qemu", "--",
                       ARM64_PROGRAM}),
               112, "is an AArch64 program, to be run under qemu-aarch64, and --qemu");
  expect_error(record({"-o", "trace.txt", "--", ARM64_PROGRAM}, {"PATH=" + directory_.path()}), 112,
               "none is on $PATH: install qemu-user, or name its qemu-aarch64 with --qemu");
  EXPECT_FALSE(std::ifstream(directory_.path() + "/trace.txt").good()) << "no trace is started";
}

TEST_F(Arm64ProgramsTest, MissingAarch64ShimIsRefused) {
  require_arm64_program();
  require_qemu();
  std::string missing = directory_.path() + "/libmmiotrace.so.0";
  expect_error(
      record({"-o", "trace.txt", "--", ARM64_PROGRAM}, {"MMIOTRACE_ARM64_LIBRARY=" + missing}), 122,
      "cannot read the AArch64 shim library " + missing);
  // Where the build's command looks by itself: the AArch64 build, which does not make one yet.
  std::string built = std::string(MMIOTRACE_SOURCE_DIR) + "/build-arm64/lib/libmmiotrace.so.0";
  if (access(built.c_str(), F_OK) == 0) return;
  ProgramResult result = record({"-o", "trace.txt", "--", ARM64_PROGRAM});
  expect_error(result, 122, "build it with scripts/build --arch arm64");
  EXPECT_NE(result.err.find("AArch64 shim library"), std::string::npos) << result.err;
  // An x86-64 library is not an AArch64 one.
  std::string native = executable("native.so", elf_header(2, 1, 62));
  expect_error(
      record({"-o", "trace.txt", "--", ARM64_PROGRAM}, {"MMIOTRACE_ARM64_LIBRARY=" + native}), 122,
      "states no mmiotrace version");
  EXPECT_FALSE(std::ifstream(directory_.path() + "/trace.txt").good()) << "no trace is started";
}

TEST_F(Arm64ProgramsTest, RunsUnderQemuWithTheShimInTheProgram) {
  require_arm64_program();
  require_qemu();
  ProgramResult result = record({"-o", "trace.txt", "--", ARM64_PROGRAM, "one", "two"},
                                {std::string("MMIOTRACE_ARM64_LIBRARY=") + ARM64_STAND_IN_SHIM});
  // As untraced: the program's output, its own argv[0], its exit status.
  EXPECT_EQ(describe_status(result.status), "exited 3") << result.err;
  EXPECT_EQ(result.out, std::string("AArch64 program: ") + ARM64_PROGRAM + " one two\n");
  // The AArch64 library reached the program, and only it: qemu itself got no x86-64 shim.
  char resolved[PATH_MAX];
  ASSERT_NE(realpath(ARM64_STAND_IN_SHIM, resolved), nullptr);
  EXPECT_NE(
      result.err.find(std::string("stand-in AArch64 shim loaded, LD_PRELOAD=") + resolved + "\n"),
      std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("libmmiotrace"), std::string::npos) << result.err;
  EXPECT_TRUE(std::ifstream(directory_.path() + "/trace.txt").good());
}

// A text trace reduced to what an expectation can state: times become T, virtual addresses
// VIRT, PCs PC and the process ID PID; the module and PCI device lines (which depend on the
// machine) go. Every PC of an access must lie in `program`'s own code, whose range its module
// MARK gives; the problems found are added to `problems`.
std::string normalized_arm64_trace(const std::string& trace, const std::string& program,
                                   std::vector<std::string>* problems) {
  std::istringstream lines(trace);
  std::string line;
  uint64_t code_low = 0, code_high = 0;
  std::vector<std::pair<std::string, uint64_t>> access_pcs;
  std::ostringstream out;
  const std::regex access(
      R"(^([RW]) (\d+) [0-9.]+ (\d+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) \d+$)");
  const std::regex map(
      R"(^MAP [0-9.]+ (\d+) (0x[0-9a-f]+) 0x[0-9a-f]+ (0x[0-9a-f]+) 0x[0-9a-f]+ \d+$)");
  const std::regex unmap(R"(^UNMAP [0-9.]+ (\d+) 0x[0-9a-f]+ \d+$)");
  const std::regex module(R"(^MARK [0-9.]+ module \d+ (0x[0-9a-f]+)-(0x[0-9a-f]+) .* (\S+)$)");
  const std::regex mark(R"(^MARK [0-9.]+ (.*)$)");
  std::smatch match;
  while (std::getline(lines, line)) {
    if (line.rfind("PCIDEV ", 0) == 0) continue;
    if (std::regex_match(line, match, module)) {
      if (match[3] == program) {
        code_low = std::stoull(match[1], nullptr, 16);
        code_high = std::stoull(match[2], nullptr, 16);
      }
      continue;
    }
    if (std::regex_match(line, match, access)) {
      out << match[1] << " " << match[2] << " T " << match[3] << " " << match[4] << " " << match[5]
          << " PC PID\n";
      access_pcs.emplace_back(line, std::stoull(match[6], nullptr, 16));
    } else if (std::regex_match(line, match, map)) {
      out << "MAP T " << match[1] << " " << match[2] << " VIRT " << match[3] << " PC PID\n";
    } else if (std::regex_match(line, match, unmap)) {
      out << "UNMAP T " << match[1] << " PC PID\n";
    } else if (std::regex_match(line, match, mark)) {
      std::string text =
          std::regex_replace(std::string(match[1]), std::regex(R"(^arch \d+ )"), "arch PID ");
      out << "MARK T " << std::regex_replace(text, std::regex(R"(at 0x[0-9a-f]+)"), "at PC")
          << "\n";
    } else {
      out << line << "\n";
    }
  }
  if (code_high == 0) problems->push_back("no module MARK for " + program);
  for (const auto& [text, pc] : access_pcs) {
    if (pc < code_low || pc >= code_high) problems->push_back("PC outside the program: " + text);
  }
  return out.str();
}

class TracedArm64ProgramsTest : public Arm64ProgramsTest {
 protected:
  void SetUp() override {
    if (std::string(ARM64_PROGRAMS_DIR).empty()) {
      GTEST_SKIP() << "aarch64-linux-gnu-gcc was not found when the tests were configured: no "
                      "AArch64 test programs (scripts/setup installs g++-aarch64-linux-gnu)";
    }
    if (find_qemu_aarch64().empty()) {
      GTEST_SKIP() << "no qemu-aarch64 (scripts/setup installs qemu-user)";
    }
    const std::string built =
        std::string(MMIOTRACE_SOURCE_DIR) + "/build-arm64/lib/libmmiotrace.so.0";
    if (arm64_shim_library(built).empty()) {
      GTEST_SKIP() << "no AArch64 shim at " << built
                   << ": build it with scripts/build --arch arm64";
    }
  }
  static std::string program(const std::string& name) {
    return std::string(ARM64_PROGRAMS_DIR) + "/" + name;
  }
  // The program run untraced under qemu-aarch64, in a directory of its own; at most `seconds`.
  ProgramResult untraced(const std::string& name, int seconds = 120,
                         const std::vector<std::string>& environment = {}) {
    std::vector<std::string> argv = {"timeout", std::to_string(seconds)};
    for (const std::string& word :
         under_qemu(find_qemu_aarch64(), {program(name), untraced_dir_.path()}, environment))
      argv.push_back(word);
    return run_program(argv, untraced_dir_.path(), environment);
  }
  // The program traced, its register file (device.reg) the traced mapping.
  ProgramResult traced(const std::string& name, const std::vector<std::string>& environment = {}) {
    return record({"-t", directory_.path() + "/device.reg", "-o", trace_path(), "--", program(name),
                   directory_.path()},
                  environment);
  }
  std::string trace_path() const { return directory_.path() + "/trace.txt"; }
  // Compares the normalized trace with arm64/NAME.expected.
  void expect_trace(const std::string& name) {
    std::vector<std::string> problems;
    std::string trace = normalized_arm64_trace(read_file(trace_path()), program(name), &problems);
    for (const std::string& problem : problems)
      ADD_FAILURE() << problem;
    const std::string expected_path = std::string(ARM64_EXPECTED_DIR) + "/" + name + ".expected";
    if (getenv("MMIOTRACE_REBASE") != nullptr) std::ofstream(expected_path) << trace;
    EXPECT_EQ(trace, read_file(expected_path)) << "trace of " << name;
  }
  TemporaryDirectory untraced_dir_;
};

TEST_F(TracedArm64ProgramsTest, EveryLoadStoreClassIsTracedExactly) {
  ProgramResult plain = untraced("load_store_classes");
  ASSERT_EQ(describe_status(plain.status), "exited 0") << plain.err;
  ProgramResult result = traced("load_store_classes");
  EXPECT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_EQ(result.out, plain.out);
  EXPECT_EQ(result.err, "");
  expect_trace("load_store_classes");
}

TEST_F(TracedArm64ProgramsTest, AnAccessTheEmulatorCannotMakeIsTheProgramsSigsegv) {
  // qemu's CPU with SVE (record's default leaves it out).
  const std::vector<std::string> with_sve = {"QEMU_CPU=max"};
  ProgramResult plain = untraced("not_emulated", 120, with_sve);
  ASSERT_EQ(describe_status(plain.status), "exited 0") << plain.err;
  EXPECT_NE(plain.out.find("EXIT-SUCCESS"), std::string::npos) << plain.out;
  // Traced, the SVE load faults as it would on memory it may not read, and says why in the trace.
  ProgramResult result = traced("not_emulated", with_sve);
  EXPECT_EQ(describe_status(result.status), "exited 7") << result.err;
  EXPECT_EQ(result.out, "SIGSEGV at register 64\n");
  expect_trace("not_emulated");
}

TEST_F(TracedArm64ProgramsTest, SveLoadsAndStoresRunOutOfLineAndAreRecordedElementByElement) {
  const std::vector<std::string> with_sve = {"QEMU_CPU=max"};
  ProgramResult plain = untraced("out_of_line", 120, with_sve);
  // Its last load, past the end of the file, ends it from its SIGBUS handler.
  ASSERT_EQ(describe_status(plain.status), "exited 3") << plain.err;
  EXPECT_NE(plain.out.find("SIGBUS at 4128 past the second mapping"), std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("tail: d4c3b2a1"), std::string::npos) << plain.out;
  ProgramResult result = traced("out_of_line", with_sve);
  EXPECT_EQ(describe_status(result.status), "exited 3") << result.err;
  EXPECT_EQ(result.out, plain.out);
  EXPECT_EQ(result.err, "");
  expect_trace("out_of_line");
}

TEST_F(TracedArm64ProgramsTest, ThreadsShareALockOnATracedPage) {
  ProgramResult plain = untraced("lock_threads", 30);
  ASSERT_EQ(describe_status(plain.status), "exited 0")
      << plain.err << "(a hang, 124, is the cross toolchain's loader given the multiarch C "
      << "library: install libstdc++6:arm64 beside libc6:arm64, as scripts/setup does)";
  ProgramResult result = traced("lock_threads");
  EXPECT_EQ(describe_status(result.status), "exited 0") << result.err;
  EXPECT_EQ(result.out, plain.out);
  EXPECT_NE(result.out.find("locked 600, atomic 600 of 600"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace mmiotrace::e2e
