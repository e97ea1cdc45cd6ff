// End-to-end tests of recording: binary and compressed traces read back as the text ones;
// markers from the program and from outside; nothing recorded is lost when the program is killed;
// a trace that cannot be written in full (a full disk, a reader gone) costs the program nothing
// and says what it lost; the tools that read traces refuse bad ones plainly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "program_runner.hpp"
#include "trace_normalizer.hpp"

namespace mmiotrace::e2e {
namespace {

const std::string kPrograms = E2E_PROGRAMS_DIR;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

bool wait_for_file(const std::string& path, int seconds) {
  for (int i = 0; i < seconds * 100; ++i) {
    if (access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class RecordingTest : public ::testing::Test {
 protected:
  ProgramResult record(std::vector<std::string> options, const std::string& program) {
    std::vector<std::string> argv = {MMIOTRACE_COMMAND, "record"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"--trace", directory_.path() + "/*.reg", "--",
                             kPrograms + "/" + program, directory_.path()});
    return run_program(argv, directory_.path());
  }
  ProgramResult mmiotrace(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), MMIOTRACE_COMMAND);
    return run_program(arguments, directory_.path());
  }
  std::string path(const std::string& name) const { return directory_.path() + "/" + name; }
  void check_kill(int signo, const std::vector<std::string>& options);

  TemporaryDirectory directory_;
};

TEST_F(RecordingTest, OutputNameChoosesTheFormatWhenNoFormatIsGiven) {
  struct Case {
    const char* name;
    std::string magic;  // the file's first bytes
    int compressed;     // the header's flags bit 0 (binary traces), or -1
  };
  for (const Case& expected : {Case{"trace.bin", std::string("MMIOTRC\0", 8), 0},
                               Case{"trace.bin.zst", std::string("MMIOTRC\0", 8), 1},
                               Case{"trace.zst", std::string("\x28\xb5\x2f\xfd"), -1},
                               Case{"trace.gz", std::string("\x1f\x8b"), -1},
                               Case{"trace.bin.gz", std::string("\x1f\x8b"), -1},
                               Case{"trace.txt", std::string("VERSION "), -1},
                               Case{"trace.bin.log", std::string("VERSION "), -1}}) {
    ProgramResult recorded = record({"-o", path(expected.name)}, "widths");
    ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
    std::string content = read_file(path(expected.name));
    EXPECT_EQ(content.substr(0, expected.magic.size()), expected.magic) << expected.name;
    if (expected.compressed >= 0) {
      ASSERT_GE(content.size(), 16u);
      EXPECT_EQ(content[12] & 1, expected.compressed) << expected.name;
    }
    ProgramResult dumped = mmiotrace({"dump", path(expected.name)});
    EXPECT_EQ(describe_status(dumped.status), "exited 0") << dumped.err;
  }
}

TEST_F(RecordingTest, BinaryTraceDumpsToTheTextTrace) {
  for (std::vector<std::string> format :
       {std::vector<std::string>{"--format", "binary"},
        std::vector<std::string>{"--format", "binary", "--compress"}}) {
    std::vector<std::string> options = {"-o", path("trace.bin")};
    options.insert(options.end(), format.begin(), format.end());
    ProgramResult recorded = record(options, "widths");
    ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
    ProgramResult dumped = mmiotrace({"dump", path("trace.bin")});
    ASSERT_EQ(describe_status(dumped.status), "exited 0") << dumped.err;
    NormalizedTrace trace =
        normalize_trace(dumped.out, ProgramImage(kPrograms + "/widths"), directory_.path());
    for (const std::string& problem : trace.problems)
      ADD_FAILURE() << problem;
    EXPECT_EQ(trace.text, read_file(std::string(E2E_EXPECTED_DIR) + "/widths.expected"));
  }
}

TEST_F(RecordingTest, ConvertRoundTripsTextThroughBinaryAndCompression) {
  ASSERT_EQ(describe_status(record({"-o", path("trace.txt")}, "widths").status), "exited 0");
  for (const char* name : {"trace.bin", "trace.bin.zst", "trace.zst", "trace.gz"}) {
    ProgramResult there = mmiotrace({"convert", path("trace.txt"), path(name)});
    ASSERT_EQ(describe_status(there.status), "exited 0") << name << ": " << there.err;
    ProgramResult back = mmiotrace({"convert", path(name), path("back.txt")});
    ASSERT_EQ(describe_status(back.status), "exited 0") << name << ": " << back.err;
    EXPECT_EQ(read_file(path("back.txt")), read_file(path("trace.txt"))) << name;
  }
  ProgramResult xz = mmiotrace({"convert", path("trace.txt"), path("trace.xz")});
  EXPECT_EQ(describe_status(xz.status), "exited 125");
  EXPECT_EQ(xz.err, "mmiotrace: convert: cannot write '" + path("trace.xz") +
                        "': mmiotrace reads xz but writes zstd (.zst) or gzip (.gz)\n");
}

// -o FILE.zst and FILE.gz: the kernel's text, which zstdcat and zcat give back, and which every
// reader reads as it is.
TEST_F(RecordingTest, CompressedTextRecordingsDecompressToTheTextTrace) {
  const std::string expected = read_file(std::string(E2E_EXPECTED_DIR) + "/widths.expected");
  for (const char* name : {"trace.txt", "trace.zst", "trace.gz"}) {
    ProgramResult recorded = record({"-o", path(name)}, "widths");
    ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
  }
  struct Reading {
    std::string how;
    std::vector<std::string> argv;
  };
  for (const Reading& reading :
       {Reading{"zstdcat", {"zstdcat", path("trace.zst")}},
        Reading{"zcat", {"zcat", path("trace.gz")}},
        Reading{"dump of .zst", {MMIOTRACE_COMMAND, "dump", path("trace.zst")}},
        Reading{"dump of .gz", {MMIOTRACE_COMMAND, "dump", path("trace.gz")}}}) {
    ProgramResult read = run_program(reading.argv, directory_.path());
    ASSERT_EQ(describe_status(read.status), "exited 0") << reading.how << ": " << read.err;
    NormalizedTrace trace =
        normalize_trace(read.out, ProgramImage(kPrograms + "/widths"), directory_.path());
    for (const std::string& problem : trace.problems)
      ADD_FAILURE() << reading.how << ": " << problem;
    EXPECT_EQ(trace.text, expected) << reading.how;
  }
  // The uncompressed recording, for comparison: the same normalized text.
  NormalizedTrace plain = normalize_trace(read_file(path("trace.txt")),
                                          ProgramImage(kPrograms + "/widths"), directory_.path());
  EXPECT_EQ(plain.text, expected);
}

// The events of a dumped trace (its lines but VERSION; a LOST marker counts the events it
// stands for), the last one apart when it is a LOST marker: `lost_at_end` has its count.
struct TraceCount {
  uint64_t events = 0;
  uint64_t lost_at_end = 0;
};
TraceCount count_events(const std::string& dumped) {
  TraceCount count;
  uint64_t pending_lost = 0;  // a LOST marker's count, until another event follows it
  for (const std::string& line : lines_of(dumped)) {
    if (line.rfind("VERSION ", 0) == 0) continue;
    count.events += pending_lost;
    pending_lost = 0;
    const std::string lost = "MARK 0.000000 Lost ";
    if (line.rfind(lost, 0) == 0) {
      pending_lost = std::stoull(line.substr(lost.size()));
    } else {
      ++count.events;
    }
  }
  count.lost_at_end = pending_lost;
  return count;
}

// "... N events lost ('COMMAND' ENDED)": N, or -1 when the line does not say it that way.
long long events_lost_in(const std::string& message) {
  size_t end = message.find(" events lost ('");
  size_t start = message.rfind("incomplete, ", end);
  if (end == std::string::npos || start == std::string::npos) return -1;
  return std::stoll(message.substr(start + 12, end - start - 12));
}

// A trace on a full disk (a 1 MiB tmpfs): the program runs to its end, with its own output and
// exit status; mmiotrace says in one line how many events it lost, exits 124, and the trace
// holds whole events up to there, then (when the room the cut freed allows) a LOST record.
TEST_F(RecordingTest, AFullDiskLosesTheRestOfTheTraceButNothingOfTheProgram) {
  const std::string program = kPrograms + "/access_loop";
  const std::string glob = directory_.path() + "/*.reg";
  const std::string script =
      "set -e\n"
      "mount --make-rprivate /\n"
      "mkdir full && mount -t tmpfs -o size=1m tmpfs full\n"
      "set +e\n"
      "'" MMIOTRACE_COMMAND "' record -o full/trace.txt --trace '" +
      glob + "' -- " + program +
      " . 200000 3 >program.out 2>record.err\n"
      "echo $? >record.status\n"
      "cp full/trace.txt trace.txt\n";
  ProgramResult run = run_program({"unshare", "-m", "sh", "-c", script}, directory_.path());
  if (access(path("record.status").c_str(), F_OK) != 0) {
    GTEST_SKIP() << "no private mount namespace with a tmpfs here (needs root): " << run.err;
  }
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.err;
  EXPECT_EQ(read_file(path("record.status")), "124\n");
  EXPECT_EQ(read_file(path("program.out")), "checked 200000\n");
  std::string message = read_file(path("record.err"));
  EXPECT_EQ(lines_of(message).size(), 1u) << message;
  EXPECT_EQ(message.rfind("mmiotrace: record: cannot write to 'full/trace.txt': No space left on "
                          "device: the trace is incomplete, ",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(" events lost ('" + program + "' exited 3)\n"), std::string::npos)
      << message;
  long long lost = events_lost_in(message);
  ASSERT_GT(lost, 0) << message;

  // What is there reads, whole.
  ProgramResult dumped = mmiotrace({"dump", path("trace.txt")});
  ASSERT_EQ(describe_status(dumped.status), "exited 0") << dumped.err;
  TraceCount full = count_events(dumped.out);
  if (full.lost_at_end != 0) {
    EXPECT_EQ(full.lost_at_end, static_cast<uint64_t>(lost));
  }
  // The same run with room: as many events as the full one has and lost.
  ProgramResult again = run_program({MMIOTRACE_COMMAND, "record", "-o", path("reference.txt"),
                                     "--trace", glob, "--", program, ".", "200000", "3"},
                                    directory_.path());
  ASSERT_EQ(describe_status(again.status), "exited 3") << again.err;
  TraceCount all = count_events(read_file(path("reference.txt")));
  EXPECT_EQ(all.lost_at_end, 0u);
  EXPECT_EQ(full.events + static_cast<uint64_t>(lost), all.events);
}

// A trace into a pipe whose reader goes away: the same.
TEST_F(RecordingTest, AReaderThatGoesAwayLosesTheRestOfTheTraceButNothingOfTheProgram) {
  const std::string program = kPrograms + "/access_loop";
  const std::string script = "{ '" MMIOTRACE_COMMAND "' record -o /dev/fd/3 --trace '" +
                             directory_.path() + "/*.reg' -- " + program +
                             " . 200000 4 3>&1 >program.out 2>record.err; "
                             "echo $? >record.status; } | head -c 1000 >head.out\n";
  ProgramResult run = run_program({"sh", "-c", script}, directory_.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.err;
  EXPECT_EQ(read_file(path("record.status")), "124\n");
  EXPECT_EQ(read_file(path("program.out")), "checked 200000\n");
  std::string head = read_file(path("head.out"));
  EXPECT_EQ(head.size(), 1000u);
  EXPECT_EQ(head.rfind("VERSION 20070824\n", 0), 0u);
  std::string message = read_file(path("record.err"));
  EXPECT_EQ(lines_of(message).size(), 1u) << message;
  EXPECT_EQ(message.rfind("mmiotrace: record: cannot write to '/dev/fd/3': Broken pipe: the trace "
                          "is incomplete, ",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(" events lost ('" + program + "' exited 4)\n"), std::string::npos)
      << message;
  EXPECT_GT(events_lost_in(message), 0) << message;
}

TEST_F(RecordingTest, MarkersFromTheProgramAndFromOutsideAreInTheTrace) {
  int pid =
      start_program({MMIOTRACE_COMMAND, "record", "-o", path("trace.txt"), "--trace",
                     directory_.path() + "/*.reg", "--", kPrograms + "/markers", directory_.path()},
                    directory_.path());
  ASSERT_TRUE(wait_for_file(path("ready"), 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string program_pid = lines_of(read_file(path("ready"))).at(0);
  // (Elsewhere: run_program() would take the recording's stderr file.)
  std::string elsewhere = path("elsewhere");
  ASSERT_EQ(mkdir(elsewhere.c_str(), 0700), 0);
  ProgramResult marked =
      run_program({MMIOTRACE_COMMAND, "mark", "--pid", program_pid, "from", "outside"}, elsewhere);
  EXPECT_EQ(describe_status(marked.status), "exited 0") << marked.err;
  std::ofstream(path("go")) << "go";
  ProgramResult recorded = finish_program(pid, directory_.path());
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;

  NormalizedTrace trace = normalize_trace(read_file(path("trace.txt")),
                                          ProgramImage(kPrograms + "/markers"), directory_.path());
  for (const std::string& problem : trace.problems)
    ADD_FAILURE() << problem;
  EXPECT_EQ(trace.text,
            "VERSION 20070824\n"
            "MAP T 1 0x0 VIRT 0x1000 PC PID\n"
            "W 4 T 1 0x0 0x1 PC PID\n"
            "MARK T from the API\n"
            "MARK T through the path\n"
            "MARK T through the descriptor\n"
            "W 4 T 1 0x0 0x2 PC PID\n"
            "MARK T from outside\n"
            "W 4 T 1 0x0 0x3 PC PID\n");
  // The 5000-byte line through the descriptor is left out, and said so (the API refused its own).
  EXPECT_NE(recorded.err.find("a marker of 5000 bytes is longer than the 4000 a trace holds; it "
                              "is not in the trace"),
            std::string::npos)
      << recorded.err;
}

// Connects to a recording's marker socket and sends nothing: -1 when it cannot.
int connect_silently(const std::string& socket_path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path.c_str());
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0)
    return fd;
  if (fd >= 0) close(fd);
  return -1;
}

TEST_F(RecordingTest, ASilentMarkerClientDoesNotStallTheRecording) {
  std::string runtime = path("runtime");
  ASSERT_EQ(mkdir(runtime.c_str(), 0700), 0);
  std::vector<std::string> environment = {"XDG_RUNTIME_DIR=" + runtime};
  int pid =
      start_program({MMIOTRACE_COMMAND, "record", "-o", path("trace.txt"), "--trace",
                     directory_.path() + "/*.reg", "--", kPrograms + "/markers", directory_.path()},
                    directory_.path(), environment);
  ASSERT_TRUE(wait_for_file(path("ready"), 10));
  // Clients that connect and never send: the recorder used to wait 1 s for each, one after the
  // other, draining nothing meanwhile, before it took the next connection.
  std::string socket_path = runtime + "/mmiotrace/" + std::to_string(pid) + ".sock";
  std::vector<int> silent;
  for (int i = 0; i < 6; ++i) {
    int fd = connect_silently(socket_path);
    ASSERT_GE(fd, 0) << socket_path;
    silent.push_back(fd);
  }
  auto start = std::chrono::steady_clock::now();
  ProgramResult marked = run_program(
      {MMIOTRACE_COMMAND, "mark", "--pid", std::to_string(pid), "past", "the", "silent", "ones"},
      directory_.path(), environment);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(describe_status(marked.status), "exited 0") << marked.err;
  EXPECT_LT(seconds, 2.0) << "mark waited behind the silent clients";
  std::ofstream(path("go")) << "go";
  ProgramResult recorded = finish_program(pid, directory_.path());
  for (int fd : silent)
    close(fd);
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
  EXPECT_NE(read_file(path("trace.txt")).find(" past the silent ones\n"), std::string::npos);
}

TEST_F(RecordingTest, AMarkerDirectoryTakenByAnotherDoesNotStopTheRecording) {
  // What another user can make before this one does, when $XDG_RUNTIME_DIR is unset:
  // /tmp/mmiotrace-UID, theirs or open to all.
  std::string runtime = path("runtime");
  ASSERT_EQ(mkdir(runtime.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((runtime + "/mmiotrace").c_str(), 0777), 0);
  ASSERT_EQ(chmod((runtime + "/mmiotrace").c_str(), 0777), 0);
  if (geteuid() == 0) {
    ASSERT_EQ(chown((runtime + "/mmiotrace").c_str(), 65534, 65534), 0);
  }
  std::vector<std::string> environment = {"XDG_RUNTIME_DIR=" + runtime};
  int pid =
      start_program({MMIOTRACE_COMMAND, "record", "-o", path("trace.txt"), "--trace",
                     directory_.path() + "/*.reg", "--", kPrograms + "/markers", directory_.path()},
                    directory_.path(), environment);
  ASSERT_TRUE(wait_for_file(path("ready"), 10));
  // (Elsewhere: run_program() would take the recording's stderr file.)
  std::string elsewhere = path("elsewhere");
  ASSERT_EQ(mkdir(elsewhere.c_str(), 0700), 0);
  ProgramResult marked =
      run_program({MMIOTRACE_COMMAND, "mark", "from", "outside"}, elsewhere, environment);
  EXPECT_EQ(describe_status(marked.status), "exited 0") << marked.err;
  std::ofstream(path("go")) << "go";
  ProgramResult recorded = finish_program(pid, directory_.path());
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
  EXPECT_NE(recorded.err.find("is not a private directory of yours; listening for markers in '" +
                              runtime + "/mmiotrace."),
            std::string::npos)
      << recorded.err;
  EXPECT_NE(read_file(path("trace.txt")).find(" from outside\n"), std::string::npos);
  // Its own directory goes with it.
  ProgramResult listed = run_program({"ls", runtime}, directory_.path());
  EXPECT_EQ(listed.out, "mmiotrace\n");

  // Where no socket can be made at all, the recording goes on without one.
  ProgramResult nowhere =
      run_program({MMIOTRACE_COMMAND, "record", "-o", path("nowhere.txt"), "--", "true"},
                  directory_.path(), {"XDG_RUNTIME_DIR=" + path("no/such/directory")});
  EXPECT_EQ(describe_status(nowhere.status), "exited 0") << nowhere.err;
  EXPECT_NE(nowhere.err.find("'mmiotrace mark' cannot reach this recording"), std::string::npos)
      << nowhere.err;
}

// Runs until_killed under `record` (with `options`), kills it with `signo` once it has made some
// writes, and checks that every write it finished (and the one it may have been making) is in
// the trace.
void RecordingTest::check_kill(int signo, const std::vector<std::string>& options) {
  std::vector<std::string> command = {MMIOTRACE_COMMAND,
                                      "record",
                                      "--format",
                                      "binary",
                                      "-o",
                                      path("trace.bin"),
                                      "--trace",
                                      directory_.path() + "/*.reg"};
  command.insert(command.end(), options.begin(), options.end());
  command.insert(command.end(), {"--", kPrograms + "/until_killed", directory_.path()});
  int pid = start_program(command, directory_.path());
  ASSERT_TRUE(wait_for_file(path("progress"), 10));
  // Killed once it has made a thousand writes or so (with the code cache, a few milliseconds in:
  // a longer run makes a trace of many millions of writes).
  uint64_t progress[2] = {};
  for (int waited = 0; waited < 10000 && (progress[0] < 1000 || progress[1] == 0); ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::ifstream file(path("progress"), std::ios::binary);
    file.read(reinterpret_cast<char*>(progress), sizeof(progress));
  }
  ASSERT_GT(progress[1], 0u);
  ASSERT_EQ(kill(static_cast<pid_t>(progress[1]), signo), 0);
  ProgramResult recorded = finish_program(pid, directory_.path());
  EXPECT_TRUE(WIFSIGNALED(recorded.status));
  EXPECT_EQ(WTERMSIG(recorded.status), signo);
  std::ifstream file(path("progress"), std::ios::binary);
  file.read(reinterpret_cast<char*>(progress), sizeof(progress));
  ASSERT_GT(progress[0], 100u) << "the program made too few writes to tell";

  ProgramResult dumped = mmiotrace({"dump", path("trace.bin")});
  ASSERT_EQ(describe_status(dumped.status), "exited 0") << dumped.err;
  uint64_t expected = 1;
  for (const std::string& line : lines_of(dumped.out)) {
    AccessLine access;
    if (line.rfind("W 8 ", 0) != 0 || !parse_access_line(line, &access)) continue;
    ASSERT_EQ(access.value, expected) << line;
    ++expected;
  }
  EXPECT_GE(expected - 1, progress[0]);
  EXPECT_LE(expected - 1, progress[0] + 1);
}

// One signal per access: even SIGKILL loses nothing (the rings are shared memory).
TEST_F(RecordingTest, EverythingRecordedBeforeASigkillIsInTheTrace) {
  check_kill(SIGKILL, {"--no-divert"});
}

// The code cache's access logs are shared memory too: the drainer recovers what a thread killed
// by SIGKILL had logged but not yet handed over.
TEST_F(RecordingTest, EverythingRecordedBeforeASigkillIsInTheTraceWithTheCodeCache) {
  check_kill(SIGKILL, {});
}

// With the code cache, a thread killed by a signal whose default action ends the process has
// its logged accesses flushed first (SIGKILL cannot be caught: docs/code-cache.md).
TEST_F(RecordingTest, EverythingRecordedBeforeASigtermIsInTheTraceWithTheCodeCache) {
  check_kill(SIGTERM, {});
}

TEST_F(RecordingTest, DropModeRecordsAValidTrace) {
  ProgramResult recorded =
      record({"-o", path("trace.txt"), "--drop", "--buffer-size", "64K"}, "widths");
  ASSERT_EQ(describe_status(recorded.status), "exited 0") << recorded.err;
  NormalizedTrace trace = normalize_trace(read_file(path("trace.txt")),
                                          ProgramImage(kPrograms + "/widths"), directory_.path());
  for (const std::string& problem : trace.problems)
    ADD_FAILURE() << problem;
  EXPECT_EQ(trace.text, read_file(std::string(E2E_EXPECTED_DIR) + "/widths.expected"));
}

TEST_F(RecordingTest, BadTracesAreRefusedWithTheirFileAndPosition) {
  std::ofstream(path("bad.txt")) << "VERSION 20070824\nR 4 1.000000 1 0x0 0x1 0x0 0\nNOPE\n";
  ProgramResult dumped = mmiotrace({"dump", "--strict", path("bad.txt")});
  EXPECT_EQ(describe_status(dumped.status), "exited 121");
  EXPECT_EQ(dumped.err, "mmiotrace: dump: " + path("bad.txt") +
                            ": line 3: unknown record \"NOPE\" in \"NOPE\"\n");
  ProgramResult missing = mmiotrace({"dump", path("missing.bin")});
  EXPECT_EQ(describe_status(missing.status), "exited 121");
  ProgramResult unknown_format = mmiotrace({"convert", path("bad.txt"), path("out.xyz")});
  EXPECT_EQ(describe_status(unknown_format.status), "exited 125");
  EXPECT_NE(unknown_format.err.find("say --to text, --to binary or --to perfetto"),
            std::string::npos)
      << unknown_format.err;
}

TEST_F(RecordingTest, MarkWithoutARecordingSaysSo) {
  ProgramResult marked = mmiotrace({"mark", "--pid", "999999", "hello"});
  EXPECT_EQ(describe_status(marked.status), "exited 120");
  EXPECT_NE(marked.err.find("no recording with pid 999999"), std::string::npos) << marked.err;
  // A text the recording could not keep whole is refused before any recording is looked for.
  ProgramResult too_long = mmiotrace({"mark", "--pid", "999999", std::string(4000, 'm')});
  EXPECT_EQ(describe_status(too_long.status), "exited 125");
  EXPECT_EQ(too_long.err, "mmiotrace: mark: the text is 4000 bytes; a marker holds at most 3999\n");
  ProgramResult longest = mmiotrace({"mark", "--pid", "999999", std::string(3999, 'm')});
  EXPECT_EQ(describe_status(longest.status), "exited 120");
}

}  // namespace
}  // namespace mmiotrace::e2e
