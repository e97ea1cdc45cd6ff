// What a virtual PCI bus adds to a program's start, under `mmiotrace record` with four --pci
// functions against the same command without them (medians of interleaved runs): the bus's
// set-up, once per recording, and per program the enumeration and configuration reads of
// `lspci -n`, measured as the slope from none to many lspci runs in one recording, so that the
// recording's own start cancels out (its end, which waits for the rings of processes that
// recorded, is spread over the runs). The target is under 10 ms for the two together.
// Run: build/bin/pci_bench [--quick] (--quick: a few runs, the target not judged).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using mmiotrace::bench::median;

// The wall time of `argv` in milliseconds, its output discarded, or -1 when it fails.
double timed_run_ms(const std::vector<std::string>& argv) {
  double seconds = mmiotrace::bench::timed_run(argv);
  return seconds < 0 ? -1 : seconds * 1e3;
}

// `lspci -n` run `count` times (maybe none) in one shell under `mmiotrace record`, with the bus or
// without.
std::vector<std::string> command(const std::string& mmiotrace, bool bus, int count) {
  std::vector<std::string> argv = {mmiotrace, "record", "-o", "/dev/null"};
  if (bus) {
    for (const char* function : {"nvme@3a:00.0", "uart16550@3a:01.0", "regfile:size=64K@3b:00.0",
                                 "regfile:driver=uio_pci_generic@3c:00.0"}) {
      argv.push_back("--pci");
      argv.push_back(function);
    }
  }
  argv.insert(argv.end(), {"--", "sh", "-c",
                           "i=0; while [ $i -lt " + std::to_string(count) +
                               " ]; do lspci -n || exit 1; i=$((i+1)); done"});
  return argv;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  int runs = quick ? 3 : 15;
  const int many = quick ? 3 : 20;
  const std::string mmiotrace = mmiotrace::bench::mmiotrace_command();
  // [bus][count]: the medians of interleaved runs.
  std::vector<double> times[2][2];
  for (int i = 0; i < runs; ++i) {
    for (int bus : {0, 1}) {
      for (int n : {0, 1}) {
        double t = timed_run_ms(command(mmiotrace, bus, n ? many : 0));
        if (t < 0) {
          fprintf(stderr, "pci_bench: lspci failed under mmiotrace record (pciutils?)\n");
          return 1;
        }
        times[bus][n].push_back(t);
      }
    }
  }
  // The namespace, the tree and the trace's lines: paid once, when record starts the command.
  double setup = median(times[1][0]) - median(times[0][0]);
  // Per program: the slope from 1 to `many` lspci runs, with the bus and without.
  double per_run[2];
  for (int bus : {0, 1})
    per_run[bus] = (median(times[bus][1]) - median(times[bus][0])) / many;
  double enumeration = per_run[1] - per_run[0];
  printf("mmiotrace record with four --pci functions, medians of %d runs:\n", runs);
  printf("  bus set-up (mount namespace, sysfs tree, PCIDEV lines): %.2f ms\n", setup);
  printf(
      "  lspci -n (enumeration, config reads of 10 functions): %.2f ms without the bus, "
      "%.2f ms with it: %.2f ms added\n",
      per_run[0], per_run[1], enumeration);
  printf("  added to a program's start: %.2f ms (target: under 10 ms)%s\n", setup + enumeration,
         quick ? "" : (setup + enumeration < 10 ? ": met" : ": NOT met"));
  return 0;
}
