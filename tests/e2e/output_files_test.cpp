// End-to-end tests of the trace files record and convert write (docs/cli.md, "Output files"): a
// command that cannot run leaves the previous trace as it was, record keeps the one it replaces
// as NAME.old, convert puts its output in place whole or not at all (`convert X X` included),
// traces are mode 0600, and another user's link or file in a shared directory is not written.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "program_runner.hpp"

namespace mmiotrace::e2e {
namespace {

constexpr char kTrace[] =
    "VERSION 20070824\n"
    "MAP 1.000000 1 0xfe000000 0x7f0000000000 0x1000 0x0 77\n"
    "R 4 1.000002 1 0xfe000000 0x1234abcd 0x401000 77\n"
    "W 4 1.000003 1 0xfe000004 0x1 0x401008 77\n";

// A user other than the one the tests run as (who is root, when the tests can chown).
constexpr uid_t kOtherUser = 65534;

class OutputFilesTest : public ::testing::Test {
 protected:
  ProgramResult mmiotrace(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), MMIOTRACE_COMMAND);
    return run_program(arguments, directory_.path());
  }
  std::string path(const std::string& name) const { return directory_.path() + "/" + name; }
  void write(const std::string& name, const std::string& content) {
    std::ofstream(path(name), std::ios::binary) << content;
  }
  // The names in the test's directory (temporary files included).
  std::vector<std::string> names() const {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(directory_.path()))
      found.push_back(entry.path().filename());
    std::sort(found.begin(), found.end());
    return found;
  }
  static mode_t mode_of(const std::string& file) {
    struct stat status = {};
    EXPECT_EQ(stat(file.c_str(), &status), 0) << file;
    return status.st_mode & 07777;
  }
  // A directory like /tmp: anyone may add names, only their owner remove them.
  std::string shared_directory() {
    std::string shared = path("shared");
    EXPECT_EQ(mkdir(shared.c_str(), 0777), 0);
    EXPECT_EQ(chmod(shared.c_str(), 01777), 0);
    return shared;
  }

  TemporaryDirectory directory_;
};

TEST_F(OutputFilesTest, ACommandThatCannotRunLeavesThePreviousTrace) {
  write("mmiotrace.log", kTrace);
  write("not-executable", "#!/bin/sh\n");
  chmod(path("not-executable").c_str(), 0644);
  ProgramResult missing = mmiotrace({"record", "--", "no-such-command-xyz"});
  EXPECT_EQ(describe_status(missing.status), "exited 127") << missing.err;
  ProgramResult refused = mmiotrace({"record", "--", path("not-executable")});
  EXPECT_EQ(describe_status(refused.status), "exited 126") << refused.err;
  EXPECT_EQ(read_file(path("mmiotrace.log")), kTrace);
  EXPECT_EQ(names(), (std::vector<std::string>{"mmiotrace.log", "not-executable"}));
}

TEST_F(OutputFilesTest, RecordKeepsTheTraceItReplacesAsOld) {
  write("mmiotrace.log", kTrace);
  ProgramResult recorded = mmiotrace({"record", "--trace", "/nothing/*", "--", "true"});
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
  EXPECT_EQ(read_file(path("mmiotrace.log.old")), kTrace);
  EXPECT_EQ(read_file(path("mmiotrace.log")).rfind("VERSION ", 0), 0u);
  EXPECT_EQ(names(), (std::vector<std::string>{"mmiotrace.log", "mmiotrace.log.old"}));
}

TEST_F(OutputFilesTest, TracesArePrivate) {
  umask(022);
  ProgramResult recorded = mmiotrace({"record", "--trace", "/nothing/*", "--", "true"});
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
  EXPECT_EQ(mode_of(path("mmiotrace.log")), 0600u);
  write("in.txt", kTrace);
  for (const char* name : {"out.bin", "out.txt", "out.json"}) {
    ProgramResult converted = mmiotrace({"convert", path("in.txt"), path(name)});
    ASSERT_EQ(describe_status(converted.status), "exited 0") << converted.err;
    EXPECT_EQ(mode_of(path(name)), 0600u) << name;
  }
}

TEST_F(OutputFilesTest, ConvertIntoItsOwnInputWorks) {
  write("trace.txt", kTrace);
  ProgramResult same =
      mmiotrace({"convert", "--to", "binary", path("trace.txt"), path("trace.txt")});
  ASSERT_EQ(describe_status(same.status), "exited 0") << same.err;
  EXPECT_EQ(read_file(path("trace.txt")).rfind(std::string("MMIOTRC\0", 8), 0), 0u);
  ProgramResult back = mmiotrace({"convert", "--to", "text", path("trace.txt"), path("trace.txt")});
  ASSERT_EQ(describe_status(back.status), "exited 0") << back.err;
  EXPECT_EQ(read_file(path("trace.txt")), kTrace);
  EXPECT_EQ(names(), (std::vector<std::string>{"trace.txt"}));
}

TEST_F(OutputFilesTest, AFailedConvertLeavesWhatOutWas) {
  write("bad.txt", std::string(kTrace) + "GARBAGE\n");
  write("out.txt", "what was there\n");
  // --strict: a bad line otherwise is skipped, and the conversion succeeds.
  ProgramResult failed = mmiotrace({"convert", "--strict", path("bad.txt"), path("out.txt")});
  EXPECT_EQ(describe_status(failed.status), "exited 121") << failed.err;
  EXPECT_EQ(read_file(path("out.txt")), "what was there\n");
  EXPECT_EQ(names(), (std::vector<std::string>{"bad.txt", "out.txt"}));
}

TEST_F(OutputFilesTest, AnInterruptedConvertLeavesNoTemporaryFile) {
  // A trace read from a FIFO that is never finished: convert waits for the rest.
  ASSERT_EQ(mkfifo(path("in.fifo").c_str(), 0600), 0);
  int pid = start_program(
      {MMIOTRACE_COMMAND, "convert", "--to", "binary", path("in.fifo"), path("out.bin")},
      directory_.path());
  {
    std::ofstream fifo(path("in.fifo"), std::ios::binary);
    fifo << kTrace << std::flush;
    for (int i = 0; i < 200; ++i) {
      bool temporary = false;
      for (const std::string& name : names())
        temporary |= name.rfind(".out.bin.", 0) == 0;
      if (temporary) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGINT);
    ProgramResult result = finish_program(pid, directory_.path());
    EXPECT_EQ(describe_status(result.status), "killed by SIGINT") << result.err;
  }
  EXPECT_EQ(names(), (std::vector<std::string>{"in.fifo"}));
}

TEST_F(OutputFilesTest, AnotherUsersLinkInASharedDirectoryIsNotFollowed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to make a link of another user";
  std::string shared = shared_directory();
  std::string link = shared + "/trace.txt";
  ASSERT_EQ(symlink(path("victim").c_str(), link.c_str()), 0);
  ASSERT_EQ(lchown(link.c_str(), kOtherUser, kOtherUser), 0);
  write("in.txt", kTrace);
  ProgramResult converted = mmiotrace({"convert", path("in.txt"), link});
  EXPECT_EQ(describe_status(converted.status), "exited 124") << converted.err;
  EXPECT_NE(converted.err.find("symbolic link of another user"), std::string::npos)
      << converted.err;
  ProgramResult recorded = mmiotrace({"record", "-o", link, "--", "true"});
  EXPECT_EQ(describe_status(recorded.status), "exited 124") << recorded.err;
  EXPECT_FALSE(std::filesystem::exists(path("victim")));
  // One's own link is followed, as the kernel follows it.
  ASSERT_EQ(lchown(link.c_str(), 0, 0), 0);
  converted = mmiotrace({"convert", path("in.txt"), link});
  EXPECT_EQ(describe_status(converted.status), "exited 0") << converted.err;
  EXPECT_EQ(read_file(path("victim")), kTrace);
}

TEST_F(OutputFilesTest, AnotherUsersFileInASharedDirectoryIsNotReplaced) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to make a file of another user";
  std::string theirs = shared_directory() + "/trace.txt";
  { std::ofstream(theirs) << "theirs\n"; }
  ASSERT_EQ(chown(theirs.c_str(), kOtherUser, kOtherUser), 0);
  write("in.txt", kTrace);
  ProgramResult converted = mmiotrace({"convert", path("in.txt"), theirs});
  EXPECT_EQ(describe_status(converted.status), "exited 124") << converted.err;
  EXPECT_NE(converted.err.find("belongs to another user"), std::string::npos) << converted.err;
  EXPECT_EQ(read_file(theirs), "theirs\n");
}

TEST_F(OutputFilesTest, DevicesAndStandardOutputAreWrittenInPlace) {
  write("in.txt", kTrace);
  ProgramResult to_null = mmiotrace({"convert", "--to", "text", path("in.txt"), "/dev/null"});
  EXPECT_EQ(describe_status(to_null.status), "exited 0") << to_null.err;
  EXPECT_EQ(mode_of("/dev/null"), 0666u);
  ProgramResult to_stdout = mmiotrace({"convert", "--to", "text", path("in.txt"), "-"});
  EXPECT_EQ(describe_status(to_stdout.status), "exited 0") << to_stdout.err;
  EXPECT_EQ(to_stdout.out, kTrace);
}

}  // namespace
}  // namespace mmiotrace::e2e
