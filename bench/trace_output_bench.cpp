// Text output against binary output for a whole recording: memtester under the tracer (with the
// code cache) records the same workload into a text file and into a binary file, alternately,
// in one run; beside them, the file system's own rate: as many bytes as the text trace has,
// written to the same directory in 1 MiB writes (what dd does). Issue 17's target: text at most
// twice binary. Run: build/bin/trace_output_bench [--smoke] [DIRECTORY] (DIRECTORY: where the
// traces go, $TMPDIR or /tmp by default; --smoke: a small workload, once, no verdict).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using mmiotrace::bench::median;
using mmiotrace::bench::now_seconds;
using mmiotrace::bench::timed_run;

uint64_t file_size(const std::string& path) {
  struct stat status;
  return stat(path.c_str(), &status) == 0 ? static_cast<uint64_t>(status.st_size) : 0;
}

// Writes `bytes` to `path` in 1 MiB writes, as dd does; returns the wall time, or -1.
double timed_write(const std::string& path, uint64_t bytes) {
  std::vector<char> chunk(1 << 20, 'x');
  double start = now_seconds();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  for (uint64_t left = bytes; left > 0;) {
    size_t size = left < chunk.size() ? static_cast<size_t>(left) : chunk.size();
    ssize_t done = write(fd, chunk.data(), size);
    if (done <= 0) {
      close(fd);
      return -1;
    }
    left -= static_cast<uint64_t>(done);
  }
  if (close(fd) != 0) return -1;
  return now_seconds() - start;
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::string directory = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--smoke") == 0) {
      smoke = true;
    } else {
      directory = argv[i];
    }
  }
  const int runs = smoke ? 1 : 3;
  const std::string workload = smoke ? "16K" : "256K";
  const std::string mmiotrace = mmiotrace::bench::mmiotrace_command();
  const std::string base = directory + "/mmiotrace-output-bench-" + std::to_string(getpid());
  auto record = [&](const std::string& output) {
    return timed_run({mmiotrace, "record", "-o", output, "--trace", "/dev/zero", "--", "memtester",
                      "-p", "0", "-d", "/dev/zero", workload, "1"});
  };

  printf("memtester -p 0 -d /dev/zero %s 1, traced into %s, %d run%s of each\n", workload.c_str(),
         directory.c_str(), runs, runs > 1 ? "s" : "");
  std::vector<double> binary, text, file_system;
  uint64_t text_bytes = 0;
  uint64_t binary_bytes = 0;
  for (int run = 0; run < runs; ++run) {
    // Alternately first, so that neither always runs on a warmer or a cooler machine.
    for (int k = 0; k < 2; ++k) {
      bool is_text = (run + k) % 2 == 0;
      std::string output = base + (is_text ? ".txt" : ".bin");
      double seconds = record(output);
      if (seconds < 0) {
        printf("mmiotrace record -o %s failed (is memtester installed? scripts/setup)\n",
               output.c_str());
        unlink(output.c_str());
        return 1;
      }
      (is_text ? text : binary).push_back(seconds);
      (is_text ? text_bytes : binary_bytes) = file_size(output);
      unlink(output.c_str());
    }
    double seconds = timed_write(base + ".dd", text_bytes);
    unlink((base + ".dd").c_str());
    if (seconds < 0) {
      printf("cannot write %llu bytes into %s\n", static_cast<unsigned long long>(text_bytes),
             directory.c_str());
      return 1;
    }
    file_system.push_back(seconds);
  }
  double b = median(binary), t = median(text), f = median(file_system);
  printf("%-44s %10s %14s %10s\n", "", "median s", "bytes", "MB/s");
  printf("%-44s %10.3f %14llu %10.0f\n", "binary trace", b,
         static_cast<unsigned long long>(binary_bytes),
         static_cast<double>(binary_bytes) / b / 1e6);
  printf("%-44s %10.3f %14llu %10.0f\n", "text trace", t,
         static_cast<unsigned long long>(text_bytes), static_cast<double>(text_bytes) / t / 1e6);
  printf("%-44s %10.3f %14llu %10.0f\n", "the text's bytes, 1 MiB writes (file system)", f,
         static_cast<unsigned long long>(text_bytes), static_cast<double>(text_bytes) / f / 1e6);
  printf("\ntext / binary: %.2f (target <= 2: %s)\n", t / b,
         smoke        ? "not judged in a smoke run"
         : t / b <= 2 ? "met"
                      : "NOT MET");
  printf("text / the file system writing its bytes: %.2f\n", t / f);
  return 0;
}
