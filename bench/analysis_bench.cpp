// The analysis commands on large binary traces: how many events per second `mmiotrace report`,
// `dump`, `diff` and `convert --to perfetto` get through, and their peak resident memory on a
// trace four times longer, which must stay the same (they stream). Targets: report reads at
// least 2 million events/s; peak memory on the long trace at most 1.25 x that on the short one.
// Run: build/bin/analysis_bench [EVENTS] (the long trace's events; default 8 million).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "trace/trace_writer.hpp"

using mmiotrace::trace::Event;
using mmiotrace::trace::EventKind;

namespace {

double now_seconds() {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_nsec) / 1e9;
}

// A driver's trace: four threads of one process polling and writing 64 registers of two
// mappings from a dozen instructions, values mostly changing (so that the distinct-value
// bookkeeping is exercised), a marker every 100,000 events.
// `differ_at_end`: the last access's value changed, so that diff reads both traces whole.
void write_trace(const std::string& path, uint64_t events, bool differ_at_end = false) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror(path.c_str());
    exit(1);
  }
  auto writer =
      mmiotrace::trace::TraceWriter::create(fd, path, mmiotrace::trace::TraceFormat::Binary, false);
  for (int map = 1; map <= 2; ++map) {
    Event event;
    event.kind = EventKind::Map;
    event.map_id = map;
    event.phys = 0xfe000000ull + static_cast<uint64_t>(map) * 0x100000;
    event.virt = 0x7f0000000000ull + static_cast<uint64_t>(map) * 0x100000;
    event.length = 0x4000;
    event.pid = 1000;
    event.tid = 1000;
    event.pc = 0x401000;
    writer->write_event(event);
  }
  const std::string marker = "phase";
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (uint64_t i = 0; i < events; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    Event event;
    event.time_ns = 1'000'000 + i * 50;
    event.pid = 1000;
    event.tid = 1000 + static_cast<int>(i % 4);
    if (i % 100'000 == 99'999) {
      event.kind = EventKind::Mark;
      event.text = marker.c_str();
      event.text_length = static_cast<uint32_t>(marker.size());
      writer->write_event(event);
      continue;
    }
    int map = 1 + static_cast<int>(state & 1);
    event.kind = (state >> 1) % 3 == 0 ? EventKind::Write : EventKind::Read;
    event.map_id = map;
    event.width = 4;
    uint64_t offset = ((state >> 8) % 64) * 4;
    event.phys = 0xfe000000ull + static_cast<uint64_t>(map) * 0x100000 + offset;
    event.virt = 0x7f0000000000ull + static_cast<uint64_t>(map) * 0x100000 + offset;
    event.pc = 0x401100 + ((state >> 20) % 12) * 0x10;
    uint32_t value = (state >> 32) % 4 == 0 ? 1u : static_cast<uint32_t>(state >> 32);
    if (differ_at_end && i + 2 >= events) value = ~value;  // the last event may be a marker
    memcpy(event.value, &value, 4);
    writer->write_event(event);
  }
  writer->close();
}

struct Run {
  double seconds = -1;
  long peak_kib = 0;
};

// Runs `argv` with standard output discarded; the wall time and the child's peak resident
// memory. `allowed_status` is the exit status that counts as success (diff exits 1 on a
// difference).
Run run(const std::vector<std::string>& argv, int allowed_status = 0) {
  Run result;
  double start = now_seconds();
  pid_t child = fork();
  if (child == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    std::vector<char*> args;
    for (const std::string& arg : argv)
      args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage = {};
  wait4(child, &status, 0, &usage);
  double elapsed = now_seconds() - start;
  if (WIFEXITED(status) && WEXITSTATUS(status) == allowed_status) {
    result.seconds = elapsed;
    result.peak_kib = usage.ru_maxrss;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t events = argc > 1 ? strtoull(argv[1], nullptr, 10) : 8'000'000;
  if (events < 1000) {
    fprintf(stderr, "analysis_bench: give at least 1000 events\n");
    return 2;
  }
  const std::string mmiotrace = mmiotrace::bench::mmiotrace_command();
  char directory_template[] = "/tmp/mmiotrace-analysis-bench-XXXXXX";
  const std::string directory = mkdtemp(directory_template);
  const std::string short_trace = directory + "/short.bin";
  const std::string long_trace = directory + "/long.bin";
  const std::string other_trace = directory + "/other.bin";  // the long one, one value changed
  write_trace(short_trace, events / 4);
  write_trace(long_trace, events);
  write_trace(other_trace, events, true);

  struct Command {
    const char* name;
    std::vector<std::string> arguments;  // the trace is appended (diff: two)
    int status;
    bool two_traces;
  };
  const std::vector<Command> commands = {
      {"report", {"report"}, 0, false},
      {"report --json", {"report", "--json"}, 0, false},
      {"dump", {"dump"}, 0, false},
      {"diff", {"diff"}, 1, true},
      {"convert perfetto", {"convert", "--to", "perfetto"}, 0, false},
  };
  printf("%-18s %12s %14s %14s %14s %8s\n", "command", "events", "events/s", "peak KiB short",
         "peak KiB long", "ratio");
  int failures = 0;
  double report_rate = 0;
  double worst_memory_ratio = 0;
  for (const Command& command : commands) {
    auto argv_for = [&](const std::string& trace, const std::string& second) {
      std::vector<std::string> command_line = {mmiotrace};
      command_line.insert(command_line.end(), command.arguments.begin(), command.arguments.end());
      command_line.push_back(trace);
      if (command.two_traces) command_line.push_back(second);
      if (std::string(command.name) == "convert perfetto") command_line.push_back("/dev/null");
      return command_line;
    };
    Run on_short = run(argv_for(short_trace, short_trace), 0);
    Run on_long = run(argv_for(long_trace, other_trace), command.status);
    if (on_short.seconds < 0 || on_long.seconds < 0) {
      printf("%-18s failed\n", command.name);
      ++failures;
      continue;
    }
    double rate = static_cast<double>(events) / on_long.seconds;
    double memory_ratio =
        static_cast<double>(on_long.peak_kib) / static_cast<double>(on_short.peak_kib);
    if (std::string(command.name) == "report") report_rate = rate;
    worst_memory_ratio = std::max(worst_memory_ratio, memory_ratio);
    printf("%-18s %12llu %14.0f %14ld %14ld %8.2f\n", command.name,
           static_cast<unsigned long long>(events), rate, on_short.peak_kib, on_long.peak_kib,
           memory_ratio);
  }
  std::system(("rm -rf '" + directory + "'").c_str());
  bool rate_met = report_rate >= 2e6;
  bool memory_met = worst_memory_ratio <= 1.25;
  printf("\nreport reads %.2f M events/s (target >= 2): %s\n", report_rate / 1e6,
         rate_met ? "met" : "NOT MET");
  printf("peak memory, long trace / short trace, worst command: %.2f (target <= 1.25): %s\n",
         worst_memory_ratio, memory_met ? "met" : "NOT MET");
  return failures == 0 ? 0 : 1;
}
