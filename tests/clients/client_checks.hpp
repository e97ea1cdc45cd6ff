// What the client tests check of every client: that it behaves traced as untraced, and what its
// trace holds (its mappings, its accesses, all inside them). Shared by the client test files.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "program_runner.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::e2e {

// What a trace holds: its mappings, and accesses counted by kind; accesses outside every
// mapping the trace opened are counted apart.
struct TraceSummary {
  size_t maps = 0;
  size_t reads = 0;
  size_t writes = 0;
  size_t outside = 0;
  size_t unknown = 0;
  std::vector<std::string> marks;
};

inline TraceSummary summarize(const std::string& path) {
  TraceSummary summary;
  std::unique_ptr<trace::TraceReader> reader = trace::TraceReader::open(path);
  std::map<int, std::pair<uint64_t, uint64_t>> maps;  // map id: physical begin, length
  trace::Event event;
  while (reader->next(event)) {
    switch (event.kind) {
      case trace::EventKind::Map:
        ++summary.maps;
        maps[event.map_id] = {event.phys, event.length};
        break;
      case trace::EventKind::Read:
      case trace::EventKind::Write: {
        (event.kind == trace::EventKind::Read ? summary.reads : summary.writes)++;
        auto found = maps.find(event.map_id);
        if (found == maps.end() || event.phys < found->second.first ||
            event.phys + event.width > found->second.first + found->second.second) {
          ++summary.outside;
        }
        break;
      }
      case trace::EventKind::Unknown:
        ++summary.unknown;
        break;
      case trace::EventKind::Mark:
        summary.marks.emplace_back(event.text ? event.text : "", event.text_length);
        break;
      default:
        break;
    }
  }
  return summary;
}

// A trace's mappings and accesses, one line each, in order: "MAP PHYS LENGTH", and "R|W WIDTH
// PHYS VALUE" (decimal; the value of up to its first 8 bytes).
inline std::vector<std::string> maps_and_accesses(const std::string& path) {
  std::unique_ptr<trace::TraceReader> reader = trace::TraceReader::open(path);
  trace::Event event;
  std::vector<std::string> seen;
  while (reader->next(event)) {
    if (event.kind == trace::EventKind::Map) {
      seen.push_back("MAP " + std::to_string(event.phys) + " " + std::to_string(event.length));
    } else if (event.kind == trace::EventKind::Read || event.kind == trace::EventKind::Write) {
      uint64_t value = 0;
      memcpy(&value, event.value, event.width <= 8 ? event.width : 8);
      seen.push_back(std::string(event.kind == trace::EventKind::Read ? "R " : "W ") +
                     std::to_string(event.width) + " " + std::to_string(event.phys) + " " +
                     std::to_string(value));
    }
  }
  return seen;
}

// `command` under `mmiotrace record`, writing a binary trace to `trace`, tracing the files that
// `globs` match; without the code cache (--no-divert) when not `divert`.
inline std::vector<std::string> traced(const std::string& trace,
                                       const std::vector<std::string>& globs,
                                       const std::vector<std::string>& command,
                                       bool divert = true) {
  std::vector<std::string> argv = {MMIOTRACE_COMMAND, "record", "--format", "binary", "-o", trace};
  if (!divert) argv.push_back("--no-divert");
  for (const std::string& glob : globs) {
    argv.push_back("--trace");
    argv.push_back(glob);
  }
  argv.push_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

// The traced run did what the untraced one did: exit status, output, error output.
inline void expect_same_behaviour(const ProgramResult& traced_run,
                                  const ProgramResult& untraced_run) {
  EXPECT_EQ(describe_status(traced_run.status), describe_status(untraced_run.status));
  EXPECT_EQ(traced_run.out, untraced_run.out);
  EXPECT_EQ(traced_run.err, untraced_run.err);
}

// The first lines of a shell script run by `unshare -m` (root only) that binds `image`, a file
// of the working directory, on /dev/mem: a private mount namespace with a /dev of its own, so
// that the system's is left alone.
inline std::string dev_mem_bound_to(const std::string& image) {
  return "set -e\n"
         "mount --make-rprivate /\n"
         "mkdir old-dev && mount --rbind /dev old-dev\n"
         "mount -t tmpfs -o mode=755 tmpfs /dev\n"
         "cp -a old-dev/null old-dev/zero old-dev/urandom /dev/\n"
         "touch /dev/mem && mount --bind " +
         image + " /dev/mem\n";
}

}  // namespace mmiotrace::e2e
