// Whole programs under the tracer: each real client (memtester, sqlite3, fio, LMDB's tools,
// stress-ng) untraced, with `--no-divert` and in the default mode (the code cache), and with
// --eager in the default mode with MMIOTRACE_CODE_CACHE_POLICY=eager, under an 8 MiB and an
// unlimited stack, in one run. For each it takes the wall time (the median of --runs), the peak
// resident memory and what the traced processes' MMIOTRACE_STATS lines and binary traces say,
// checks that every run did what it does untraced, flags each client that the default mode runs
// slower than --no-divert, and judges issue 17's targets as ratios within the run
// (docs/benchmarks.md §4). Not part of CI: scripts/bench --clients runs it.
//   build/bin/client_bench [--quick | --small] [--runs N] [--eager] [--only NAME[,NAME...]]
//                          [--timeout SECONDS] [--max-rss MIB] [--write-doc FILE]
// A run is killed, and reported as failed, past --timeout (1800 s; 600 with --small, 60 with
// --quick) or when one of its processes grows past --max-rss MiB resident (4096).
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "process_run.hpp"
#include "sqlite_workload.hpp"
#include "trace/trace_reader.hpp"

namespace {

namespace fs = std::filesystem;
using mmiotrace::bench::ProcessResult;
using mmiotrace::bench::ProcessSpec;

constexpr const char* kPolicyVariable = "MMIOTRACE_CODE_CACHE_POLICY";
constexpr const char* kDocBegin = "<!-- client-bench:begin -->";
constexpr const char* kDocEnd = "<!-- client-bench:end -->";
constexpr long kRssAllowanceKib = 64 * 1024;  // traced peak <= untraced peak + 64 MiB

enum class Mode { Untraced, NoDivert, Default, Eager };
constexpr Mode kModes[] = {Mode::Untraced, Mode::NoDivert, Mode::Default, Mode::Eager};

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::Untraced:
      return "untraced";
    case Mode::NoDivert:
      return "--no-divert";
    case Mode::Default:
      return "default";
    case Mode::Eager:
      return "eager";
  }
  return "?";
}

struct StackLimit {
  const char* name;
  rlim_t limit;
};
constexpr StackLimit kSmallStack = {"8 MiB", 8192 * 1024};
constexpr StackLimit kUnlimitedStack = {"unlimited", RLIM_INFINITY};

// The sum of the traced processes' MMIOTRACE_STATS lines.
struct EngineStats {
  uint64_t traps = 0;
  uint64_t emulated = 0;
  uint64_t single_stepped = 0;
  uint64_t diverted = 0;
  uint64_t cache_accesses = 0;
  uint64_t patched = 0;
  uint64_t passed_on = 0;
  std::set<int64_t> pids;  // of the processes that printed a line
};

// "mmiotrace: pid 4242: 72 traps: 17 emulated, 0 single-stepped, 55 diverted into the code
// cache, which made 86769664 accesses; 16 entries patched; 0 signals passed on to the program"
EngineStats parse_stats(const std::string& err) {
  EngineStats sum;
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    unsigned long long pid, traps, emulated, stepped, diverted, accesses, patched, passed;
    if (sscanf(line.c_str(),
               "mmiotrace: pid %llu: %llu traps: %llu emulated, %llu single-stepped, %llu "
               "diverted into the code cache, which made %llu accesses; %llu entries patched; "
               "%llu signals passed on",
               &pid, &traps, &emulated, &stepped, &diverted, &accesses, &patched, &passed) != 8) {
      continue;
    }
    sum.traps += traps;
    sum.emulated += emulated;
    sum.single_stepped += stepped;
    sum.diverted += diverted;
    sum.cache_accesses += accesses;
    sum.patched += patched;
    sum.passed_on += passed;
    sum.pids.insert(static_cast<int64_t>(pid));
  }
  return sum;
}

// What a trace holds.
struct TraceCounts {
  uint64_t accesses = 0;  // R and W events
  uint64_t unknown = 0;
  uint64_t lost = 0;
  uint64_t maps = 0;
  std::set<int64_t> pids;  // of the processes that recorded accesses
};

TraceCounts count_trace(const std::string& path) {
  TraceCounts counts;
  auto reader = mmiotrace::trace::TraceReader::open(path);
  mmiotrace::trace::Event event;
  while (reader->next(event)) {
    switch (event.kind) {
      case mmiotrace::trace::EventKind::Read:
      case mmiotrace::trace::EventKind::Write:
        ++counts.accesses;
        counts.pids.insert(event.pid);
        break;
      case mmiotrace::trace::EventKind::Unknown:
        ++counts.unknown;
        counts.pids.insert(event.pid);
        break;
      case mmiotrace::trace::EventKind::Lost:
        counts.lost += event.length;
        break;
      case mmiotrace::trace::EventKind::Map:
        ++counts.maps;
        break;
      default:
        break;
    }
  }
  return counts;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The last `count` lines of `text`, indented, for a failure report.
std::string tail_lines(const std::string& text, int count) {
  size_t start = text.size();
  if (start > 0 && text[start - 1] == '\n') --start;
  for (int seen = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++seen == count) break;
  }
  std::string tail = text.substr(start);
  while (!tail.empty() && tail.back() == '\n')
    tail.pop_back();
  std::string indented = "    ";
  for (char c : tail) {
    indented += c;
    if (c == '\n') indented += "    ";
  }
  return indented;
}

// Where two outputs first differ, or "" when they do not.
std::string first_difference(const std::string& got, const std::string& expected) {
  if (got == expected) return "";
  std::istringstream a(got), b(expected);
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    bool more_a = static_cast<bool>(std::getline(a, line_a));
    bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return "they differ in line endings";
    if (!more_a || !more_b || line_a != line_b) {
      return "line " + std::to_string(line) + ": got '" + (more_a ? line_a : "(end)") +
             "', expected '" + (more_b ? line_b : "(end)") + "'";
    }
  }
}

// One run's output, for a client's check.
struct RunOutput {
  int status;
  std::string out;
  std::string err;
  std::string directory;        // the run's files
  const std::string* expected;  // the untraced run's standard output, or null before it ran
};

// A client: a program and the files it starts from. `prepare` fills the template directory
// that every run starts from a copy of; `check` says what went wrong in a run, or "".
struct Client {
  std::string name;   // for --only
  std::string title;  // for the table
  std::vector<std::string> command;
  std::vector<std::string> globs;  // relative to the run's directory, or absolute
  std::function<std::string(const std::string& directory)> prepare;
  std::function<std::string(const RunOutput& run)> check;
  std::vector<Mode> modes = {std::begin(kModes), std::end(kModes)};
  bool trace_to_null = false;     // records into /dev/null (its accesses are not counted)
  double target_ratio = 0;        // default <= target_ratio x untraced (0: no such target)
  std::string target_label = "";  // that target's name in the table
};

std::string expect_exit_0(const RunOutput& run) {
  if (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0) return "";
  std::string last = run.err.empty() ? run.out : run.err;
  return mmiotrace::bench::describe_wait_status(run.status) + "; its last output:\n" +
         tail_lines(last, 4);
}

std::string expect_same_output(const RunOutput& run) {
  if (run.expected == nullptr) return "";
  std::string difference = first_difference(run.out, *run.expected);
  return difference.empty() ? "" : "its output differs from the untraced run's: " + difference;
}

// A program run untraced to prepare or check a client's files; "" when it exited 0.
std::string run_helper(const std::vector<std::string>& argv, const std::string& directory,
                       std::string* out = nullptr) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.directory = directory;
  spec.out_path = directory + "/../helper.out";
  spec.err_path = directory + "/../helper.err";
  spec.timeout_seconds = 300;
  ProcessResult result = mmiotrace::bench::run_process(spec);
  if (out != nullptr) *out = read_text(spec.out_path);
  std::string err = read_text(spec.err_path);
  if (!result.failed_to_start.empty()) return argv[0] + ": " + result.failed_to_start;
  if (result.timed_out) return argv[0] + " ran past 300 s";
  if (WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0) return "";
  return argv[0] + ": " + mmiotrace::bench::describe_wait_status(result.status) + "\n" +
         tail_lines(err, 4);
}

// Read-only queries on that database: a scan, lookups by key and through the index, a
// grouping, the integrity check and the hash.
const char kSqliteQueries[] =
    "PRAGMA mmap_size=268435456;\n"
    "SELECT count(*), sum(value), min(name), max(name) FROM t;\n"
    "SELECT name FROM t WHERE id BETWEEN 100 AND 105;\n"
    "SELECT id, value FROM t WHERE name BETWEEN 'name-150' AND 'name-151' ORDER BY name;\n"
    "SELECT id % 13 AS k, count(*), sum(value) FROM t GROUP BY k ORDER BY k;\n"
    "PRAGMA integrity_check;\n"
    ".sha3sum\n";

// LMDB: a dump in mdb_dump's printable format, `records` keys with values of 16 to 215
// letters, and the records part of it (what mdb_dump -p prints between its header and end).
std::string lmdb_records(int records) {
  std::string text;
  uint64_t seed = 1;
  for (int i = 0; i < records; ++i) {
    char key[32];
    snprintf(key, sizeof(key), " key-%06d\n", i);
    text += key;
    text += ' ';
    for (int length = 16 + (i * 37) % 200; length > 0; --length) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      text += static_cast<char>('a' + (seed >> 59) % 26);
    }
    text += '\n';
  }
  return text;
}

std::string lmdb_dump(const std::string& records) {
  return "VERSION=3\nformat=print\ntype=btree\nmapsize=67108864\nmaxreaders=126\nHEADER=END\n" +
         records + "DATA=END\n";
}

// The records part of mdb_dump's output.
std::string dumped_records(const std::string& dump) {
  size_t header = dump.find("HEADER=END\n");
  size_t end = dump.rfind("DATA=END\n");
  if (header == std::string::npos || end == std::string::npos || end < header) return "";
  header += strlen("HEADER=END\n");
  return dump.substr(header, end - header);
}

std::string check_memtester(const RunOutput& run) {
  if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
  if (run.out.find("FAILURE") != std::string::npos) {
    return "memtester reported a FAILURE:\n" + tail_lines(run.out, 4);
  }
  if (run.out.find("Done.") == std::string::npos) return "memtester did not say Done.";
  return "";
}

std::string check_stress_ng(const RunOutput& run) {
  if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
  std::string all = run.out + run.err;
  if (all.find("fail:") != std::string::npos) {
    return "stress-ng reported a failure:\n" + tail_lines(all, 4);
  }
  if (all.find("successful run completed") == std::string::npos) {
    return "stress-ng did not report a successful run:\n" + tail_lines(all, 4);
  }
  return "";
}

std::string check_sqlite3(const RunOutput& run) {
  if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
  if (run.out.find("\nok\n") == std::string::npos) {
    return "sqlite3's integrity check did not say ok:\n" + tail_lines(run.out, 4);
  }
  return expect_same_output(run);
}

std::string check_fio(const RunOutput& run) {
  if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
  // Terse version 3: "3;fio-VERSION;JOBNAME;GROUPID;ERROR;...".
  std::vector<std::string> fields;
  std::istringstream in(run.out);
  for (std::string field; std::getline(in, field, ';');)
    fields.push_back(field);
  if (fields.size() < 5 || fields[2] != "job") return "fio's output is not its terse form";
  if (fields[4] != "0") return "fio reported error " + fields[4];
  return "";
}

std::string no_files(const std::string&) {
  return "";
}

// The clients' sizes: --quick (the least that runs each client), --small (about a tenth of the
// full sizes, for a loaded machine), or the full sizes, those issue 17 measured.
enum class Size { Quick, Small, Full };

const char* size_name(Size size) {
  switch (size) {
    case Size::Quick:
      return "quick";
    case Size::Small:
      return "small";
    case Size::Full:
      return "full";
  }
  return "?";
}

// The size's pick among three values.
template <typename T>
T sized(Size size, T quick, T small, T full) {
  return size == Size::Quick ? quick : size == Size::Small ? small : full;
}

std::vector<Client> make_clients(Size size, bool eager) {
  std::vector<Client> clients;
  const bool quick = size == Size::Quick;
  const std::string memtester_size = sized<std::string>(size, "4K", "8K", "64K");
  clients.push_back({
      .name = "memtester",
      .title = "memtester -p 0 -d /dev/zero " + memtester_size + " 1",
      .command = {"memtester", "-p", "0", "-d", "/dev/zero", memtester_size, "1"},
      .globs = {"/dev/zero"},
      .prepare = no_files,
      .check = check_memtester,
  });
  if (quick) {
    // A signal per access makes even 4 KiB take seconds.
    clients.back().modes = {Mode::Untraced, Mode::Default, Mode::Eager};
  }

  const int rows = sized(size, 200, 3000, 20000);
  const std::string create_script = mmiotrace::clients::sqlite_create_script(rows);
  clients.push_back({
      .name = "sqlite3-create",
      .title = "sqlite3: " + std::to_string(rows) +
               "-row create, WAL, mmap_size, index, update, delete, checkpoint, check, hash",
      .command = {"sqlite3", "-batch", "test.db", ".read create.sql"},
      .globs = {"test.db", "test.db-shm"},
      .prepare =
          [create_script](const std::string& directory) {
            write_text(directory + "/create.sql", create_script);
            return std::string();
          },
      .check = check_sqlite3,
      .target_ratio = 8,
      .target_label = "A",
  });
  clients.push_back({
      .name = "sqlite3-query",
      .title = "sqlite3: queries on that database",
      .command = {"sqlite3", "-batch", "test.db", ".read query.sql"},
      .globs = {"test.db", "test.db-shm"},
      .prepare =
          [create_script](const std::string& directory) {
            write_text(directory + "/create.sql", create_script);
            write_text(directory + "/query.sql", kSqliteQueries);
            std::string failed =
                run_helper({"sqlite3", "-batch", "test.db", ".read create.sql"}, directory);
            fs::remove(directory + "/create.sql");
            return failed;
          },
      .check = check_sqlite3,
  });

  const std::string fio_size = sized<std::string>(size, "256k", "1M", "4M");
  clients.push_back({
      .name = "fio",
      .title = "fio --ioengine=mmap --verify=crc32c, " + fio_size,
      .command = {"fio", "--name=job", "--filename=data.dat", "--size=" + fio_size, "--bs=4k",
                  "--rw=randwrite", "--ioengine=mmap", "--verify=crc32c", "--do_verify=1",
                  "--verify_fatal=1", "--randseed=1", "--output-format=terse", "--terse-version=3"},
      .globs = {"data.dat"},
      .prepare = no_files,
      .check = check_fio,
  });

  const int records = sized(size, 100, 2000, 20000);
  const std::string records_text = lmdb_records(records);
  const std::string dump = lmdb_dump(records_text);
  const std::vector<std::string> lmdb_globs = {"db/data.mdb", "db/lock.mdb"};
  auto make_dump = [dump](const std::string& directory) {
    write_text(directory + "/records.dump", dump);
    fs::create_directory(directory + "/db");
    return std::string();
  };
  auto make_database = [make_dump](const std::string& directory) {
    make_dump(directory);
    std::string failed = run_helper({"mdb_load", "-f", "records.dump", "db"}, directory);
    fs::remove(directory + "/records.dump");
    return failed;
  };
  clients.push_back({
      .name = "lmdb-load",
      .title = "LMDB mdb_load, " + std::to_string(records) + " records",
      .command = {"mdb_load", "-f", "records.dump", "db"},
      .globs = lmdb_globs,
      .prepare = make_dump,
      .check =
          [records_text](const RunOutput& run) {
            if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
            std::string loaded;
            std::string failed = run_helper({"mdb_dump", "-p", "db"}, run.directory, &loaded);
            if (!failed.empty()) return "the loaded database cannot be dumped: " + failed;
            std::string difference = first_difference(dumped_records(loaded), records_text);
            if (difference.empty()) return difference;
            return "the database holds other records than were loaded: " + difference;
          },
  });
  clients.push_back({
      .name = "lmdb-stat",
      .title = "LMDB mdb_stat -efa",
      .command = {"mdb_stat", "-efa", "db"},
      .globs = lmdb_globs,
      .prepare = make_database,
      .check =
          [records](const RunOutput& run) {
            if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
            if (run.out.find("Entries: " + std::to_string(records) + "\n") == std::string::npos) {
              return "mdb_stat does not count " + std::to_string(records) + " entries:\n" +
                     tail_lines(run.out, 4);
            }
            return expect_same_output(run);
          },
  });
  clients.push_back({
      .name = "lmdb-dump",
      .title = "LMDB mdb_dump -p",
      .command = {"mdb_dump", "-p", "db"},
      .globs = lmdb_globs,
      .prepare = make_database,
      .check =
          [records_text](const RunOutput& run) {
            if (std::string failed = expect_exit_0(run); !failed.empty()) return failed;
            std::string difference = first_difference(dumped_records(run.out), records_text);
            if (difference.empty()) return difference;
            return "mdb_dump printed other records than were loaded: " + difference;
          },
  });

  // stress-ng maps a file it makes, and unlinks at once, in a folder of its own under
  // --temp-path: DIR/tmp-stress-ng-STRESSOR-PID-0/stress-ng-STRESSOR-PID-0-RANDOM (deleted).
  const std::vector<std::string> stress_globs = {"tmp-stress-ng-*/stress-ng-*"};
  const std::string mmap_bytes = quick ? "4K" : "64K";
  const std::string mmap_ops = sized<std::string>(size, "1", "1", "2");
  clients.push_back({
      .name = "stress-ng-mmap",
      .title = "stress-ng --mmap 1 --mmap-file --mmap-bytes " + mmap_bytes + " --mmap-ops " +
               mmap_ops + " --verify",
      .command = {"stress-ng", "--mmap", "1", "--mmap-file", "--mmap-bytes", mmap_bytes,
                  "--mmap-ops", mmap_ops, "--verify", "--temp-path", "."},
      .globs = stress_globs,
      .prepare = no_files,
      .check = check_stress_ng,
  });
  const std::string msync_bytes = "1M";  // its least
  const std::string msync_ops = sized<std::string>(size, "1", "20", "200");
  clients.push_back({
      .name = "stress-ng-msync",
      .title = "stress-ng --msync 1 --msync-bytes " + msync_bytes + " --msync-ops " + msync_ops +
               " --verify",
      .command = {"stress-ng", "--msync", "1", "--msync-bytes", msync_bytes, "--msync-ops",
                  msync_ops, "--verify", "--temp-path", "."},
      .globs = stress_globs,
      .prepare = no_files,
      .check = check_stress_ng,
  });

  // Issue 9's measure of the code cache: its trace (5 GB) goes to /dev/null.
  if (!quick) {
    const std::string divert_size = size == Size::Small ? "64K" : "256K";
    clients.push_back({
        .name = "memtester-divert",
        .title = "memtester -p 0 -d /dev/zero " + divert_size + " 1, trace into /dev/null",
        .command = {"memtester", "-p", "0", "-d", "/dev/zero", divert_size, "1"},
        .globs = {"/dev/zero"},
        .prepare = no_files,
        .check = check_memtester,
        .modes = {Mode::Untraced, Mode::Default},
        .trace_to_null = true,
        .target_ratio = 20,
        .target_label = "issue 9's 20×",
    });
  }
  if (!eager) {
    for (Client& client : clients)
      std::erase(client.modes, Mode::Eager);
  }
  return clients;
}

std::string count_text(uint64_t count) {
  std::string digits = std::to_string(count);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

const char* verdict(bool met) {
  return met ? "met" : "**NOT MET**";
}

// One run of a client.
struct Measurement {
  std::string failure;  // "" when it ran and did what it does untraced
  double seconds = 0;
  long max_rss_kib = 0;
  EngineStats stats;
  TraceCounts trace;

  // The processes that recorded accesses but printed no MMIOTRACE_STATS line: the line comes
  // from an atexit() handler, which a process that ends by _exit() or a signal never runs.
  size_t silent_processes() const {
    size_t silent = 0;
    for (int64_t pid : trace.pids)
      silent += stats.pids.count(pid) == 0;
    return silent;
  }
  // A count of the stats lines: "–" when no process that made accesses printed one, "≥ N" when
  // some did not.
  std::string stats_text(uint64_t count) const {
    size_t silent = silent_processes();
    if (silent == 0) return count_text(count);
    if (silent == trace.pids.size()) return "–";
    return "≥ " + count_text(count);
  }
};

// The runs of one client in one mode under one stack limit.
struct Cell {
  std::vector<Measurement> runs;
  bool ran() const { return !runs.empty(); }
  const Measurement* failed() const {
    for (const Measurement& run : runs)
      if (!run.failure.empty()) return &run;
    return nullptr;
  }
  bool ok() const { return ran() && failed() == nullptr; }
  // The median run (the lower of the middle two), by time.
  const Measurement& typical() const {
    std::vector<const Measurement*> sorted;
    for (const Measurement& run : runs)
      sorted.push_back(&run);
    std::sort(sorted.begin(), sorted.end(),
              [](const Measurement* a, const Measurement* b) { return a->seconds < b->seconds; });
    return *sorted[(sorted.size() - 1) / 2];
  }
  double median() const {
    std::vector<double> times;
    for (const Measurement& run : runs)
      times.push_back(run.seconds);
    std::sort(times.begin(), times.end());
    size_t middle = times.size() / 2;
    return times.size() % 2 ? times[middle] : (times[middle - 1] + times[middle]) / 2;
  }
  double min() const {
    double least = runs[0].seconds;
    for (const Measurement& run : runs)
      least = std::min(least, run.seconds);
    return least;
  }
  double max() const {
    double most = runs[0].seconds;
    for (const Measurement& run : runs)
      most = std::max(most, run.seconds);
    return most;
  }
};

struct Options {
  std::string invocation;  // the command line, for the report
  Size size = Size::Full;
  bool eager = false;  // also run the eager column
  int runs = 1;
  bool quick() const { return size == Size::Quick; }
  std::set<std::string> only;
  std::string doc;
  double timeout = 0;  // 0: the default for the mode
  long rss_limit_mib = 4096;
};

class Bench {
 public:
  Bench(const Options& options, std::vector<Client> clients)
      : options_(options), clients_(std::move(clients)) {
    // --quick measures nothing: one stack limit is enough to check that the clients run.
    stacks_ = {kSmallStack};
    if (!options.quick()) stacks_.push_back(kUnlimitedStack);
    mmiotrace_ = mmiotrace::bench::mmiotrace_command();
    // The clients' files on tmpfs where there is one: untraced, LMDB's load takes 1.7 s on this
    // virtual machine's disk (200 fsyncs) and 0.05 s on tmpfs. What is measured is the tracer.
    std::string files_base = "/dev/shm";
    if (access(files_base.c_str(), W_OK) != 0) files_base = temporary_base();
    files_ = make_directory(files_base);
    traces_ = make_directory(temporary_base());
  }

  int run() {
    for (const Client& client : clients_) {
      std::string template_directory = files_ + "/" + client.name;
      fs::create_directory(template_directory);
      std::string failed = client.prepare(template_directory);
      if (!failed.empty()) {
        preparation_failures_[client.name] = failed;
        continue;
      }
      for (const StackLimit& stack : stacks_) {
        for (int round = 0; round < options_.runs; ++round) {
          for (Mode mode : client.modes) {
            cells_[key(client, stack, mode)].runs.push_back(
                measure(client, template_directory, stack, mode, round));
          }
        }
      }
    }
    std::string report = render();
    fputs(report.c_str(), stdout);
    bool failed = !preparation_failures_.empty() || !kept_.empty();
    for (const auto& [name, cell] : cells_)
      failed = failed || !cell.ok();
    if (!kept_.empty()) {
      fprintf(stderr, "client_bench: the failed runs' files are kept in %s and %s\n",
              files_.c_str(), traces_.c_str());
    } else {
      fs::remove_all(files_);
      fs::remove_all(traces_);
    }
    if (!options_.doc.empty() && !write_doc(options_.doc, report)) return 2;
    return failed ? 1 : 0;
  }

  // Whether `path` has the markers --write-doc replaces between; says what is wrong if not.
  static bool doc_has_markers(const std::string& path) {
    std::string text = read_text(path);
    size_t begin = text.find(std::string(kDocBegin) + "\n");
    size_t end = text.find(std::string(kDocEnd) + "\n");
    if (begin == std::string::npos || end == std::string::npos || end < begin) {
      fprintf(stderr, "client_bench: %s has no lines '%s' and then '%s' to write between\n",
              path.c_str(), kDocBegin, kDocEnd);
      return false;
    }
    return true;
  }

 private:
  static std::string temporary_base() {
    const char* tmpdir = getenv("TMPDIR");
    return tmpdir && *tmpdir ? tmpdir : "/tmp";
  }

  static std::string make_directory(const std::string& base) {
    std::string name = base + "/mmiotrace-client-bench-XXXXXX";
    if (mkdtemp(name.data()) == nullptr) {
      fprintf(stderr, "client_bench: cannot make a directory in %s: %s\n", base.c_str(),
              strerror(errno));
      exit(2);
    }
    return name;
  }

  static std::string key(const Client& client, const StackLimit& stack, Mode mode) {
    return client.name + "/" + stack.name + "/" + mode_name(mode);
  }
  const Cell* cell(const Client& client, const StackLimit& stack, Mode mode) const {
    auto found = cells_.find(key(client, stack, mode));
    return found == cells_.end() ? nullptr : &found->second;
  }

  double timeout() const {
    if (options_.timeout > 0) return options_.timeout;
    return sized(options_.size, 60.0, 600.0, 1800.0);
  }

  Measurement measure(const Client& client, const std::string& template_directory,
                      const StackLimit& stack, Mode mode, int round) {
    std::string directory = files_ + "/run";
    fs::remove_all(directory);
    fs::copy(template_directory, directory, fs::copy_options::recursive);
    std::string trace = traces_ + "/trace.bin";
    ProcessSpec spec;
    spec.directory = directory;
    spec.out_path = files_ + "/run.out";
    spec.err_path = files_ + "/run.err";
    spec.stack_limit = stack.limit;
    spec.timeout_seconds = timeout();
    spec.rss_limit_kib = options_.rss_limit_mib * 1024;
    if (mode != Mode::Eager) spec.unset_environment.push_back(kPolicyVariable);
    if (mode == Mode::Untraced) {
      spec.argv = client.command;
    } else {
      spec.argv = {mmiotrace_, "record", "--format",
                   "binary",   "-o",     client.trace_to_null ? "/dev/null" : trace};
      for (const std::string& glob : client.globs) {
        spec.argv.push_back("--trace");
        spec.argv.push_back(glob[0] == '/' ? glob : directory + "/" + glob);
      }
      if (mode == Mode::NoDivert) spec.argv.push_back("--no-divert");
      spec.argv.push_back("--");
      spec.argv.insert(spec.argv.end(), client.command.begin(), client.command.end());
      spec.set_environment.push_back({"MMIOTRACE_STATS", "1"});
      if (mode == Mode::Eager) spec.set_environment.push_back({kPolicyVariable, "eager"});
    }
    ProcessResult result = mmiotrace::bench::run_process(spec);
    Measurement measurement;
    measurement.seconds = result.seconds;
    measurement.max_rss_kib = result.max_rss_kib;
    RunOutput output = {result.status, read_text(spec.out_path), read_text(spec.err_path),
                        directory, nullptr};
    auto expected = expected_output_.find(client.name);
    if (expected != expected_output_.end()) output.expected = &expected->second;
    if (!result.failed_to_start.empty()) {
      measurement.failure = "cannot run it: " + result.failed_to_start;
    } else if (result.over_rss_kib > 0) {
      measurement.failure = "one of its processes grew past " +
                            std::to_string(options_.rss_limit_mib) + " MiB resident (" +
                            std::to_string(result.over_rss_kib / 1024) + " MiB): killed";
      measurement.max_rss_kib = result.over_rss_kib;
    } else if (result.timed_out) {
      measurement.failure = "still running after " +
                            std::to_string(static_cast<int>(spec.timeout_seconds)) + " s: killed";
    } else {
      measurement.failure = client.check(output);
    }
    if (mode != Mode::Untraced) {
      measurement.stats = parse_stats(output.err);
      if (client.trace_to_null) {
        if (measurement.failure.empty() && measurement.stats.traps == 0) {
          measurement.failure = "no traced process took a trap (MMIOTRACE_STATS): the globs " +
                                join(client.globs) + " match no mapping it used";
        }
      } else {
        try {
          measurement.trace = count_trace(trace);
        } catch (const std::exception& error) {
          if (measurement.failure.empty()) {
            measurement.failure = std::string("its trace cannot be read: ") + error.what();
          }
        }
        if (measurement.failure.empty() && measurement.trace.accesses == 0) {
          measurement.failure = "its trace holds no access (" +
                                std::to_string(measurement.trace.maps) + " mappings): the globs " +
                                join(client.globs) + " match no mapping it used";
        }
      }
    }
    if (mode == Mode::Untraced && measurement.failure.empty() && output.expected == nullptr) {
      expected_output_[client.name] = output.out;
    }
    if (!options_.quick()) {
      fprintf(stderr, "client_bench: %s, %s stack, %s, run %d of %d: %.3f s%s\n",
              client.name.c_str(), stack.name, mode_name(mode), round + 1, options_.runs,
              measurement.seconds, measurement.failure.empty() ? "" : ", FAILED");
    }
    if (!measurement.failure.empty()) {
      // Kept for whoever reproduces it, with the template it started from.
      std::string number = std::to_string(kept_.size() + 1);
      std::string kept = files_ + "/failed-" + number;
      fs::rename(directory, kept);
      fs::rename(spec.out_path, kept + ".out");
      fs::rename(spec.err_path, kept + ".err");
      std::string files = kept + "{,.out,.err}";
      if (mode != Mode::Untraced && !client.trace_to_null && fs::exists(trace)) {
        std::string kept_trace = traces_ + "/failed-" + number + "-trace.bin";
        fs::rename(trace, kept_trace);
        files += ", " + kept_trace;
      }
      kept_.push_back(client.name + ", " + stack.name + " stack, " + mode_name(mode) + ", run " +
                      std::to_string(round + 1) + ": " + measurement.failure +
                      "\n    to run it again: rm -rf '" + directory + "' && cp -a '" +
                      template_directory + "' '" + directory + "' && " + reproduction(spec) +
                      "\n    what it left: " + files);
    }
    fs::remove(trace);
    return measurement;
  }

  static std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& word : words)
      text += (text.empty() ? "" : " ") + word;
    return text;
  }

  // The command line of a run, for a shell.
  static std::string reproduction(const ProcessSpec& spec) {
    std::string line =
        "(cd '" + spec.directory + "' && ulimit -s " +
        (spec.stack_limit == RLIM_INFINITY ? std::string("unlimited")
                                           : std::to_string(spec.stack_limit / 1024)) +
        " && ";
    for (const auto& [name, value] : spec.set_environment)
      line += name + "=" + value + " ";
    for (const std::string& arg : spec.argv)
      line += (arg.find_first_of(" *?[';") == std::string::npos ? arg : "'" + arg + "'") + " ";
    line.back() = ')';
    return line;
  }

  static std::string seconds_text(double seconds) {
    char text[32];
    if (seconds >= 100) {
      snprintf(text, sizeof(text), "%.0f", seconds);
    } else if (seconds >= 10) {
      snprintf(text, sizeof(text), "%.1f", seconds);
    } else if (seconds >= 1) {
      snprintf(text, sizeof(text), "%.2f", seconds);
    } else {
      snprintf(text, sizeof(text), "%.3f", seconds);
    }
    return text;
  }

  static std::string ratio_text(double ratio) {
    char text[32];
    snprintf(text, sizeof(text), ratio >= 10 ? "%.0f" : "%.1f", ratio);
    return std::string(text) + "×";
  }

  static std::string mib_text(long kib) {
    char text[32];
    snprintf(text, sizeof(text), "%.1f", static_cast<double>(kib) / 1024);
    return text;
  }

  // "13.6 (80×)", "FAILED", or "–" when the mode was not run.
  static std::string time_cell(const Cell* cell, const Cell* untraced) {
    if (cell == nullptr) return "–";
    if (!cell->ok()) return "**FAILED**";
    std::string text = seconds_text(cell->median());
    if (untraced != nullptr && untraced->ok() && untraced->median() > 0) {
      text += " (" + ratio_text(cell->median() / untraced->median()) + ")";
    }
    return text;
  }

  std::string build_description() const {
    std::string text = "source ";
#ifdef MMIOTRACE_SOURCE_DIR
    std::string git = "git -C '" MMIOTRACE_SOURCE_DIR "' ";
    std::string commit, dirty;
    if (FILE* pipe = popen((git + "log -1 --format='%h %s' 2>/dev/null").c_str(), "r")) {
      char line[256] = "";
      if (fgets(line, sizeof(line), pipe)) commit = line;
      pclose(pipe);
    }
    if (FILE* pipe =
            popen((git + "status --porcelain --untracked-files=no 2>/dev/null").c_str(), "r")) {
      char line[256] = "";
      if (fgets(line, sizeof(line), pipe)) dirty = " (with uncommitted changes)";
      pclose(pipe);
    }
    while (!commit.empty() && commit.back() == '\n')
      commit.pop_back();
    text += commit.empty() ? "unknown" : "`" + commit + "`" + dirty;
#else
    text += "unknown";
#endif
    if (!options_.eager) return text;
    // Whether the engine knows the eager policy's variable at all.
    std::string library = mmiotrace_.substr(0, mmiotrace_.rfind('/')) + "/../lib/libmmiotrace.so";
    bool knows = read_text(library).find(kPolicyVariable) != std::string::npos;
    text += std::string("; its libmmiotrace.so ") + (knows ? "reads " : "does not mention ") +
            kPolicyVariable + (knows ? "" : ", so the eager column ran the default mode again");
    return text;
  }

  std::string render() const {
    std::string out;
    struct utsname host;
    uname(&host);
    std::string cpu;
    {
      std::ifstream cpuinfo("/proc/cpuinfo");
      for (std::string row; std::getline(cpuinfo, row);) {
        if (row.rfind("model name", 0) == 0) {
          cpu = row.substr(row.find(':') + 2);
          break;
        }
      }
    }
    out += "`" + options_.invocation + "`, " + started_ + " to " + utc_time() + ", on " +
           std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores of " + cpu + " (Linux " +
           host.release + "), load average " + load_at_start_ + " at the start and " +
           load_average() + " at the end; " + build_description() + "; " +
           size_name(options_.size) + " sizes. Each figure is " +
           (options_.runs == 1 ? std::string("one run")
                               : "the median of " + std::to_string(options_.runs) + " runs") +
           "; the ratios are to the untraced run under the same stack limit. The clients' files "
           "are in " +
           fs::path(files_).parent_path().string() + ", the binary traces in " +
           fs::path(traces_).parent_path().string() + ".\n\n";

    const std::string best_other = options_.eager ? "min(--no-divert, eager)" : "--no-divert";
    out +=
        "Targets (issue 17): **A**, sqlite3 create: default at most 8 times untraced; **B**, "
        "every client: default at most 1.1 times " +
        best_other +
        "; **C**: the peak "
        "resident memory of every traced run at most the untraced peak + 64 MiB. Issue 9's "
        "memtester-divert: default at most 20 times untraced. default / --no-divert is the "
        "ratio of their times: above 1, **SLOWER**, the default mode loses to --no-divert, a "
        "regression. Traps, emulated, diverted and cache accesses (the accesses made by "
        "translated code) are the default mode's, summed over its processes' MMIOTRACE_STATS "
        "lines. Peak RSS is wait4's ru_maxrss: the largest process of the tree (`mmiotrace "
        "record` and its command, when traced); traced is the larger of the traced modes'.\n\n";
    out += std::string("| client | stack | untraced s | --no-divert s | default s | ") +
           (options_.eager ? "eager s | " : "") +
           "default / --no-divert | traps | emulated | diverted | cache accesses | peak RSS MiB, "
           "untraced / traced | targets |\n| --- | --- | ---: | ---: | ---: | " +
           (options_.eager ? "---: | " : "") + "---: | ---: | ---: | ---: | ---: | ---: | --- |\n";
    std::vector<std::string> regressions;
    for (const Client& client : clients_) {
      auto preparation = preparation_failures_.find(client.name);
      if (preparation != preparation_failures_.end()) {
        out += "| " + client.title + " | | **could not be prepared** | | | | | | | | | |" +
               (options_.eager ? " |" : "") + "\n";
        continue;
      }
      for (const StackLimit& stack : stacks_)
        out += summary_row(client, stack, regressions);
    }
    out += "\n";
    if (regressions.empty()) {
      out += "No client ran slower by default than with --no-divert.\n";
    } else {
      out += "**Regressions: the default mode ran slower than --no-divert** for:\n\n";
      for (const std::string& regression : regressions)
        out += "- " + regression + "\n";
    }

    out +=
        "\nEvery mode, in detail (single-stepped, diverted: traps; accesses recorded: R and W "
        "events in the trace; processes: those that recorded accesses in the trace / those that "
        "printed an MMIOTRACE_STATS line):\n\n"
        "| client | stack | mode | s (min–max) | traps | emulated | single-stepped | diverted | "
        "cache accesses | patched | accesses recorded | processes | peak RSS MiB |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
        "---: |\n";
    for (const Client& client : clients_) {
      for (const StackLimit& stack : stacks_) {
        for (Mode mode : client.modes) {
          const Cell* run = cell(client, stack, mode);
          if (run == nullptr) continue;
          out += "| " + client.name + " | " + stack.name + " | " + mode_name(mode) + " | ";
          if (!run->ok()) {
            out += "**FAILED** | | | | | | | | | |\n";
            continue;
          }
          out += seconds_text(run->median());
          if (run->runs.size() > 1) {
            out += " (" + seconds_text(run->min()) + "–" + seconds_text(run->max()) + ")";
          }
          const Measurement& typical = run->typical();
          if (mode == Mode::Untraced) {
            out += " | | | | | | | | | " + mib_text(typical.max_rss_kib) + " |\n";
            continue;
          }
          const EngineStats& stats = typical.stats;
          out +=
              " | " + typical.stats_text(stats.traps) + " | " + typical.stats_text(stats.emulated) +
              " | " + typical.stats_text(stats.single_stepped) + " | " +
              typical.stats_text(stats.diverted) + " | " +
              typical.stats_text(stats.cache_accesses) + " | " + typical.stats_text(stats.patched) +
              " | " + (client.trace_to_null ? "(not kept)" : count_text(typical.trace.accesses)) +
              " | " + (client.trace_to_null ? "–" : std::to_string(typical.trace.pids.size())) +
              " / " + std::to_string(stats.pids.size()) + " | " + mib_text(typical.max_rss_kib) +
              " |\n";
        }
      }
    }
    std::string notes;
    for (const Client& client : clients_) {
      size_t traced_runs = 0, silent_runs = 0, silent_processes = 0, processes = 0;
      for (const StackLimit& stack : stacks_) {
        for (Mode mode : client.modes) {
          const Cell* run = cell(client, stack, mode);
          if (run == nullptr || !run->ok() || mode == Mode::Untraced) continue;
          const Measurement& typical = run->typical();
          if (typical.trace.lost > 0 || typical.trace.unknown > 0) {
            notes += "- " + client.name + ", " + stack.name + " stack, " + mode_name(mode) +
                     ": the trace has " + count_text(typical.trace.unknown) +
                     " UNKNOWN accesses and " + count_text(typical.trace.lost) + " lost events.\n";
          }
          ++traced_runs;
          if (typical.silent_processes() > 0) {
            ++silent_runs;
            silent_processes = std::max(silent_processes, typical.silent_processes());
            processes = std::max(processes, typical.trace.pids.size());
          }
        }
      }
      if (silent_runs > 0) {
        notes += "- " + client.name + ": in " + std::to_string(silent_runs) + " of its " +
                 std::to_string(traced_runs) + " traced runs, up to " +
                 std::to_string(silent_processes) + " of the " + std::to_string(processes) +
                 " processes that recorded accesses printed no MMIOTRACE_STATS line (it comes "
                 "from an atexit() handler, which a process ending by _exit() never runs): "
                 "their counts are missing (–, or ≥ for a sum that lacks some).\n";
      }
    }
    if (!notes.empty()) out += "\n" + notes;
    if (!preparation_failures_.empty() || !kept_.empty()) {
      out += "\nFailures:\n\n```text\n";
      for (const auto& [name, why] : preparation_failures_)
        out += name + ": its files could not be prepared: " + why + "\n";
      for (const std::string& failure : kept_)
        out += failure + "\n";
      out += "```\n";
    }
    return out;
  }

  // A row of the summary; adds to `regressions` when the default mode was slower than
  // --no-divert.
  std::string summary_row(const Client& client, const StackLimit& stack,
                          std::vector<std::string>& regressions) const {
    const Cell* untraced = cell(client, stack, Mode::Untraced);
    const Cell* no_divert = cell(client, stack, Mode::NoDivert);
    const Cell* by_default = cell(client, stack, Mode::Default);
    const Cell* eager = cell(client, stack, Mode::Eager);
    std::string row = "| " + client.title + " | " + stack.name + " | " +
                      time_cell(untraced, nullptr) + " | " + time_cell(no_divert, untraced) +
                      " | " + time_cell(by_default, untraced) + " | ";
    if (options_.eager) row += time_cell(eager, untraced) + " | ";
    if (no_divert != nullptr && no_divert->ok() && by_default != nullptr && by_default->ok() &&
        no_divert->median() > 0) {
      double ratio = by_default->median() / no_divert->median();
      char text[32];
      snprintf(text, sizeof(text), "%.3g", ratio);
      row += text;
      if (ratio > 1) {
        row += " **SLOWER**";
        regressions.push_back(client.name + ", " + stack.name + " stack: default " +
                              seconds_text(by_default->median()) + " s, --no-divert " +
                              seconds_text(no_divert->median()) + " s (" + text + "×)");
      }
      row += " | ";
    } else {
      row += "– | ";
    }
    if (by_default != nullptr && by_default->ok()) {
      const Measurement& typical = by_default->typical();
      const EngineStats& stats = typical.stats;
      row += typical.stats_text(stats.traps) + " | " + typical.stats_text(stats.emulated) + " | " +
             typical.stats_text(stats.diverted) + " | " + typical.stats_text(stats.cache_accesses) +
             " | ";
    } else {
      row += "– | – | – | – | ";
    }
    long untraced_rss = untraced && untraced->ok() ? untraced->typical().max_rss_kib : 0;
    long traced_rss = 0;
    bool all_traced = true;
    for (const Cell* traced : {no_divert, by_default, eager}) {
      if (traced == nullptr) continue;
      if (!traced->ok()) {
        all_traced = false;
        continue;
      }
      for (const Measurement& run : traced->runs)
        traced_rss = std::max(traced_rss, run.max_rss_kib);
    }
    row += (untraced_rss ? mib_text(untraced_rss) : "–") + " / " +
           (traced_rss ? mib_text(traced_rss) : "–") + " | ";

    std::vector<std::string> verdicts;
    bool timed = untraced && untraced->ok() && by_default && by_default->ok();
    if (client.target_ratio > 0) {
      verdicts.push_back(
          client.target_label + ": " +
          (timed ? verdict(by_default->median() <= client.target_ratio * untraced->median())
                 : "not measured"));
    }
    if (no_divert != nullptr || eager != nullptr) {
      double best = 0;
      bool measured = timed;
      for (const Cell* other : {no_divert, eager}) {
        if (other == nullptr) continue;
        if (!other->ok()) {
          measured = false;
          continue;
        }
        best = best == 0 ? other->median() : std::min(best, other->median());
      }
      verdicts.push_back(std::string("B: ") + (measured && best > 0
                                                   ? verdict(by_default->median() <= 1.1 * best)
                                                   : "not measured"));
    }
    verdicts.push_back(std::string("C: ") +
                       (untraced_rss && traced_rss && all_traced
                            ? verdict(traced_rss <= untraced_rss + kRssAllowanceKib)
                            : "not measured"));
    for (size_t i = 0; i < verdicts.size(); ++i)
      row += (i ? ", " : "") + verdicts[i];
    return row + " |\n";
  }

  static bool write_doc(const std::string& path, const std::string& report) {
    if (!doc_has_markers(path)) return false;
    std::string text = read_text(path);
    size_t begin = text.find(std::string(kDocBegin) + "\n") + strlen(kDocBegin) + 1;
    size_t end = text.find(std::string(kDocEnd) + "\n");
    text = text.substr(0, begin) + "\n" + report + "\n" + text.substr(end);
    write_text(path, text);
    fprintf(stderr, "client_bench: wrote the table into %s\n", path.c_str());
    return true;
  }

  static std::string utc_time() {
    time_t now = time(nullptr);
    char text[32];
    strftime(text, sizeof(text), "%Y-%m-%d %H:%M UTC", gmtime(&now));
    return text;
  }

  // /proc/loadavg's three averages, "1-minute 5-minute 15-minute".
  static std::string load_average() {
    std::istringstream fields(read_text("/proc/loadavg"));
    std::string one, five, fifteen;
    fields >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
  }

  const Options options_;
  const std::string started_ = utc_time();
  const std::string load_at_start_ = load_average();
  const std::vector<Client> clients_;
  std::vector<StackLimit> stacks_;
  std::string mmiotrace_;
  std::string files_;   // the clients' templates and runs
  std::string traces_;  // the traced runs' traces
  std::map<std::string, Cell> cells_;
  std::map<std::string, std::string> expected_output_;       // client: untraced stdout
  std::map<std::string, std::string> preparation_failures_;  // client: why
  std::vector<std::string> kept_;                            // failed runs, described
};

[[noreturn]] void usage(const char* why) {
  fprintf(stderr,
          "client_bench: %s\nusage: client_bench [--quick | --small] [--runs N] [--eager] "
          "[--only NAME[,NAME...]] [--timeout SECONDS] [--max-rss MIB] [--write-doc FILE]\n",
          why);
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.invocation = "client_bench";
  for (int i = 1; i < argc; ++i)
    options.invocation += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "--quick") {
      options.size = Size::Quick;
    } else if (arg == "--small") {
      options.size = Size::Small;
    } else if (arg == "--eager") {
      options.eager = true;
    } else if (arg == "--runs") {
      options.runs = atoi(value().c_str());
      if (options.runs < 1) usage("--runs needs a number of runs, 1 or more");
    } else if (arg == "--only") {
      std::istringstream names(value());
      for (std::string name; std::getline(names, name, ',');)
        options.only.insert(name);
    } else if (arg == "--timeout") {
      options.timeout = atof(value().c_str());
      if (options.timeout <= 0) usage("--timeout needs a number of seconds");
    } else if (arg == "--max-rss") {
      options.rss_limit_mib = atol(value().c_str());
      if (options.rss_limit_mib <= 0) usage("--max-rss needs a number of MiB");
    } else if (arg == "--write-doc") {
      options.doc = value();
    } else {
      usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (!options.doc.empty() && !Bench::doc_has_markers(options.doc)) return 2;
  std::vector<Client> clients = make_clients(options.size, options.eager);
  if (!options.only.empty()) {
    std::vector<Client> chosen;
    std::string names;
    for (const Client& client : clients) {
      names += " " + client.name;
      if (options.only.count(client.name)) chosen.push_back(client);
    }
    if (chosen.size() != options.only.size()) {
      usage(("--only names clients among:" + names).c_str());
    }
    clients = std::move(chosen);
  }
  return Bench(options, std::move(clients)).run();
}
