// End-to-end tests of `mmiotrace record` given a program of another architecture: an AArch64
// one runs under qemu-aarch64 with the AArch64 shim preloaded into it (a stand-in library here:
// the real one does not exist yet), and the others are refused with the architecture named.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>

#include "program_runner.hpp"

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

bool qemu_on_path() {
  return access("/usr/bin/qemu-aarch64", X_OK) == 0 || access("/bin/qemu-aarch64", X_OK) == 0;
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
    if (!qemu_on_path()) GTEST_SKIP() << "no qemu-aarch64 (scripts/setup installs qemu-user)";
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
  ProgramResult result =
      run_program({"qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", ARM64_PROGRAM, "one", "two"},
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

}  // namespace
}  // namespace mmiotrace::e2e
