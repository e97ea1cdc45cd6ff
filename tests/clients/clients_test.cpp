// Real programs under the tracer, each checked by its own verification: memtester (every
// pattern it writes to a mapped device is read back), sqlite3 (query results and the
// database's hash, with the database and its WAL index mapped), two LMDB writers at once (every
// record in the database, through the process-shared mutex in its traced lock file), fio (crc32c
// verification of data written through mmap) and busybox devmem (against a file bind-mounted on
// /dev/mem in a private mount namespace). Each must also behave as it does untraced, and its trace
// must hold its accesses, all inside the mappings it traced.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "client_checks.hpp"
#include "installed_programs.hpp"
#include "program_runner.hpp"
#include "sqlite_workload.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::e2e {
namespace {

void check_memtester(const std::string& memtester, bool divert) {
  TemporaryDirectory directory;
  const std::vector<std::string> command = {memtester, "-p", "0", "-d", "/dev/zero", "16K", "1"};
  ProgramResult untraced_run = run_program(command, directory.path());
  ASSERT_EQ(describe_status(untraced_run.status), "exited 0")
      << untraced_run.out << untraced_run.err;
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult traced_run =
      run_program(traced(trace, {"/dev/zero"}, command, divert), directory.path());
  expect_same_behaviour(traced_run, untraced_run);
  EXPECT_EQ(traced_run.out.find("FAILURE"), std::string::npos) << traced_run.out;
  EXPECT_EQ(traced_run.err.find("mlock"), std::string::npos) << traced_run.err;
  TraceSummary summary = summarize(trace);
  EXPECT_EQ(summary.maps, 1u);
  // Every pattern of every test is written to and read back from all 16 KiB, 8 bytes at a time.
  EXPECT_GT(summary.writes, 100u * 16384 / 8);
  EXPECT_GT(summary.reads, 100u * 16384 / 8);
  EXPECT_EQ(summary.outside, 0u);
  EXPECT_EQ(summary.unknown, 0u);
}

TEST(ClientTest, MemtesterOnDevZero) {
  REQUIRE_PROGRAM(memtester, "memtester");
  check_memtester(memtester, true);
}

// The same without the code cache (`--no-divert`): one signal per access.
TEST(ClientTest, MemtesterOnDevZeroWithoutTheCodeCache) {
  REQUIRE_PROGRAM(memtester, "memtester");
  check_memtester(memtester, false);
}

// With `ulimit -s unlimited` (as stress-ng sets for itself) the kernel lays the program out far
// from its stack; the code cache must still find room near the program's code and run the
// accesses there, not trap on every one.
TEST(ClientTest, MemtesterWithAnUnlimitedStackRunsInTheCodeCache) {
  REQUIRE_PROGRAM(memtester, "memtester");
  TemporaryDirectory directory;
  const std::string trace = directory.path() + "/trace.bin";
  std::vector<std::string> argv = {"/bin/sh", "-c", "ulimit -s unlimited && exec \"$0\" \"$@\""};
  for (const std::string& arg :
       traced(trace, {"/dev/zero"}, {memtester, "-p", "0", "-d", "/dev/zero", "16K", "1"})) {
    argv.push_back(arg);
  }
  ProgramResult run = run_program(argv, directory.path(), {"MMIOTRACE_STATS=1"});
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_EQ(run.out.find("FAILURE"), std::string::npos) << run.out;
  std::smatch stats;
  ASSERT_TRUE(std::regex_search(
      run.err, stats, std::regex(R"((\d+) diverted into the code cache, which made (\d+))")))
      << run.err;
  EXPECT_GT(std::stoull(stats[1]), 0u) << run.err;
  EXPECT_GT(std::stoull(stats[2]), 100u * 16384 / 8) << "most accesses made by the code cache";
  TraceSummary summary = summarize(trace);
  EXPECT_GT(summary.writes, 100u * 16384 / 8);
  EXPECT_EQ(summary.outside, 0u);
}

void check_sqlite3(const std::string& sqlite3, bool divert) {
  const std::string script = clients::sqlite_create_script(3000);
  ProgramResult runs[2];
  TraceSummary summary;
  for (int traced_run : {0, 1}) {
    TemporaryDirectory directory;
    std::ofstream(directory.path() + "/script.sql") << script;
    const std::vector<std::string> command = {sqlite3, "-batch", "test.db", ".read script.sql"};
    const std::string trace = directory.path() + "/trace.bin";
    runs[traced_run] = run_program(
        traced_run ? traced(trace, {directory.path() + "/test.db*"}, command, divert) : command,
        directory.path());
    if (traced_run) summary = summarize(trace);
  }
  ASSERT_EQ(describe_status(runs[0].status), "exited 0") << runs[0].err;
  expect_same_behaviour(runs[1], runs[0]);
  EXPECT_NE(runs[1].out.find("\nok\n"), std::string::npos) << runs[1].out;
  // The database file and its WAL index (test.db-shm) were mapped and used.
  EXPECT_GE(summary.maps, 2u);
  EXPECT_GT(summary.reads, 1000u);
  EXPECT_GT(summary.writes, 100u);
  EXPECT_EQ(summary.outside, 0u);
  EXPECT_EQ(summary.unknown, 0u);
}

TEST(ClientTest, Sqlite3WithMmapAndWal) {
  REQUIRE_PROGRAM(sqlite3, "sqlite3");
  check_sqlite3(sqlite3, true);
}

TEST(ClientTest, Sqlite3WithMmapAndWalWithoutTheCodeCache) {
  REQUIRE_PROGRAM(sqlite3, "sqlite3");
  check_sqlite3(sqlite3, false);
}

// Two mdb_load writers into one LMDB database at once, traced together: they take turns through
// the process-shared robust mutex in the mapped lock file, on which glibc's mutex code waits
// with futex() calls of its own (the system-call trap carries them to the lock file's alias).
// Both must finish, and the database hold every record of both.
void check_concurrent_lmdb_writers(const std::string& mdb_load, bool divert) {
  REQUIRE_PROGRAM(mdb_stat, "mdb_stat");
  REQUIRE_PROGRAM(mdb_dump, "mdb_dump");
  constexpr int kRecords = 3000;
  TemporaryDirectory directory;
  for (const char* writer : {"a", "b"}) {
    std::ofstream input(directory.path() + "/" + writer + ".txt");
    for (int i = 0; i < kRecords; ++i)
      input << writer << "-key-" << i << "\n" << writer << "-value-" << i << "\n";
  }
  ASSERT_EQ(mkdir((directory.path() + "/db").c_str(), 0755), 0);
  // The database is made first, untraced, with one record: two writers that create one
  // database at once race in LMDB itself. (glibc's AVX-512 memcmp reads keys at the end of the
  // file with masked loads that reach past it: the emulator must leave the masked-out bytes.)
  std::ofstream(directory.path() + "/seed.txt") << "seed\nvalue\n";
  ProgramResult seed =
      run_program({mdb_load, "-T", "-f", "seed.txt", "-n", "db/data.mdb"}, directory.path());
  ASSERT_EQ(describe_status(seed.status), "exited 0") << seed.err;
  // They take turns at the write lock, each for one batch of records.
  const std::string writers =
      "\"$0\" -T -f a.txt -n db/data.mdb & a=$!; \"$0\" -T -f b.txt -n db/data.mdb & b=$!; "
      "wait $a || exit 10; wait $b || exit 11";
  const std::vector<std::string> command = {"/bin/sh", "-c", writers, mdb_load};
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult run =
      run_program(traced(trace, {directory.path() + "/db/*"}, command, divert), directory.path());
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_EQ(run.err, "");
  ProgramResult dump =
      run_program({mdb_dump, "-p", "-n", directory.path() + "/db/data.mdb"}, directory.path());
  ASSERT_EQ(describe_status(dump.status), "exited 0") << dump.err;
  for (const char* writer : {"a", "b"}) {
    for (int i : {0, kRecords / 2, kRecords - 1}) {
      const std::string record = std::string(" ") + writer + "-key-" + std::to_string(i) + "\n " +
                                 writer + "-value-" + std::to_string(i) + "\n";
      EXPECT_NE(dump.out.find(record), std::string::npos) << record;
    }
  }
  ProgramResult stat =
      run_program({mdb_stat, "-n", directory.path() + "/db/data.mdb"}, directory.path());
  EXPECT_NE(stat.out.find("Entries: " + std::to_string(2 * kRecords + 1)), std::string::npos)
      << stat.out << stat.err;
  TraceSummary summary = summarize(trace);
  EXPECT_GE(summary.maps, 2u);  // the lock file, in each writer
  EXPECT_GT(summary.writes, 0u);
  EXPECT_EQ(summary.outside, 0u);
  EXPECT_EQ(summary.unknown, 0u);
}

TEST(ClientTest, TwoLmdbWritersAtOnce) {
  REQUIRE_PROGRAM(mdb_load, "mdb_load");
  check_concurrent_lmdb_writers(mdb_load, true);
}

TEST(ClientTest, TwoLmdbWritersAtOnceWithoutTheCodeCache) {
  REQUIRE_PROGRAM(mdb_load, "mdb_load");
  check_concurrent_lmdb_writers(mdb_load, false);
}

void check_fio(const std::string& fio, bool divert) {
  TemporaryDirectory directory;
  const std::vector<std::string> command = {fio,
                                            "--name=job",
                                            "--filename=" + directory.path() + "/data.dat",
                                            "--size=1M",
                                            "--bs=4k",
                                            "--rw=randwrite",
                                            "--ioengine=mmap",
                                            "--verify=crc32c",
                                            "--do_verify=1",
                                            "--verify_fatal=1",
                                            "--randseed=1",
                                            "--output-format=terse",
                                            "--terse-version=3"};
  const std::string trace = directory.path() + "/trace.bin";
  ProgramResult traced_run =
      run_program(traced(trace, {directory.path() + "/*.dat"}, command, divert), directory.path());
  ASSERT_EQ(describe_status(traced_run.status), "exited 0") << traced_run.out << traced_run.err;
  // Terse version 3: "3;fio-VERSION;JOBNAME;GROUPID;ERROR;...": the job ended without error
  // (a verification failure is fatal, and would be its error).
  std::vector<std::string> fields;
  for (size_t start = 0, end; start < traced_run.out.size(); start = end + 1) {
    end = traced_run.out.find(';', start);
    if (end == std::string::npos) end = traced_run.out.size();
    fields.push_back(traced_run.out.substr(start, end - start));
  }
  ASSERT_GT(fields.size(), 5u) << traced_run.out;
  EXPECT_EQ(fields[2], "job");
  EXPECT_EQ(fields[4], "0") << "fio reported error " << fields[4];
  EXPECT_EQ(traced_run.err.find("verify"), std::string::npos) << traced_run.err;
  TraceSummary summary = summarize(trace);
  EXPECT_GE(summary.maps, 1u);
  // All 1 MiB written through the mapping, then read back to verify it.
  EXPECT_GE(summary.writes, 1048576u / 64);
  EXPECT_GE(summary.reads, 1048576u / 64);
  EXPECT_EQ(summary.outside, 0u);
  EXPECT_EQ(summary.unknown, 0u);
}

TEST(ClientTest, FioThroughMmapWithCrc32cVerification) {
  REQUIRE_PROGRAM(fio, "fio");
  check_fio(fio, true);
}

TEST(ClientTest, FioThroughMmapWithCrc32cVerificationWithoutTheCodeCache) {
  REQUIRE_PROGRAM(fio, "fio");
  check_fio(fio, false);
}

// busybox devmem against a file on /dev/mem: physical addresses are file offsets, and what
// devmem writes is in the file.
TEST(ClientTest, BusyboxDevmemOnABindMountedDevMem) {
  REQUIRE_PROGRAM(busybox, "busybox");
  REQUIRE_PROGRAM(unshare, "unshare");
  TemporaryDirectory directory;
  const std::string image = directory.path() + "/mem.img";
  {
    std::ofstream out(image, std::ios::binary);
    for (int i = 0; i < 65536; ++i)
      out.put(static_cast<char>(i * 7 + 3));
  }
  const std::string write_trace = directory.path() + "/write.bin";
  const std::string read_trace = directory.path() + "/read.bin";
  const std::string script = dev_mem_bound_to("mem.img") +
                             "'" MMIOTRACE_COMMAND "' record --format binary -o write.bin -- " +
                             busybox +
                             " devmem 0x2010 32 0x12345678\n"
                             "'" MMIOTRACE_COMMAND "' record --format binary -o read.bin -- " +
                             busybox + " devmem 0x2010 32\n" + busybox + " devmem 0x3001 8\n";
  ProgramResult run = run_program({unshare, "-m", "sh", "-c", script}, directory.path());
  if (run.err.find("unshare failed") != std::string::npos ||
      run.err.find("Operation not permitted") != std::string::npos) {
    GTEST_SKIP() << "no private mount namespace here (needs root): " << run.err;
  }
  ASSERT_EQ(describe_status(run.status), "exited 0") << run.out << run.err;
  EXPECT_EQ(run.out, "0x12345678\n0x0A\n");  // byte 0x3001 is 0x3001 * 7 + 3
  std::ifstream in(image, std::ios::binary);
  in.seekg(0x2010);
  uint32_t stored = 0;
  in.read(reinterpret_cast<char*>(&stored), 4);
  EXPECT_EQ(stored, 0x12345678u) << "the write reached the file";
  for (const std::string& trace : {write_trace, read_trace}) {
    const std::vector<std::string> seen = maps_and_accesses(trace);
    const std::string access = trace == write_trace ? "W" : "R";
    EXPECT_EQ(seen, (std::vector<std::string>{"MAP 8192 4096", access + " 4 8208 305419896"}))
        << trace;
  }
}

}  // namespace
}  // namespace mmiotrace::e2e
