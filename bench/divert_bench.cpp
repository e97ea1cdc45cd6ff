// The code cache's speed (issue 9): an 8-byte load in a hot loop over a traced page, native,
// emulated (one signal per access), diverted into the code cache with a probe that records
// nothing (the instrumentation and the hand-over of its log), and diverted while the process
// records itself into /dev/null (the whole recording path, its writer thread draining on the
// other core). Ratios within one run. Targets: a steady-state traced access at most 10 ns and
// at most 20 x native. Run: build/bin/divert_bench
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdio>
#include <string>

#include "median_reporter.hpp"
#include "mmiotrace/mmiotrace.h"
#include "mmiotrace/mmiotrace.hpp"

namespace {

using mmiotrace::bench::verdict;

constexpr int kWords = 512;  // one 4 KiB page of 8-byte registers

// Sums the page's words, last to first: one load per iteration.
inline uint64_t sum_page(volatile void* page) {
  uint64_t sum = 0;
  uint64_t index = kWords - 1;
  asm volatile(
      "1: mov (%[page],%[index],8), %%rax\n"
      "   add %%rax, %[sum]\n"
      "   dec %[index]\n"
      "   jns 1b\n"
      : [sum] "+r"(sum), [index] "+r"(index)
      : [page] "r"(page)
      : "rax", "memory", "cc");
  return sum;
}

volatile void* map_page() {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return page == MAP_FAILED ? nullptr : page;
}

void run(benchmark::State& state, volatile void* page) {
  for (auto _ : state) benchmark::DoNotOptimize(sum_page(page));
  state.SetItemsProcessed(state.iterations() * kWords);
}

void BM_Native(benchmark::State& state) {
  volatile void* page = map_page();
  run(state, page);
  munmap(const_cast<void*>(page), 4096);
}

void probed(benchmark::State& state, bool divert) {
  volatile void* page = map_page();
  mmiotrace_set_divert(divert ? 1 : 0);
  {
    mmiotrace::ScopedProbe probe(page, 4096, nullptr, nullptr);
    if (probe.status()) state.SkipWithError("cannot register the probe");
    run(state, page);
  }
  mmiotrace_set_divert(0);
  munmap(const_cast<void*>(page), 4096);
}

void BM_Emulated(benchmark::State& state) { probed(state, false); }
void BM_Diverted(benchmark::State& state) { probed(state, true); }

void BM_DivertedRecorded(benchmark::State& state) {
  volatile void* page = map_page();
  if (mmiotrace_trace_start("/dev/null", MMIOTRACE_FORMAT_BINARY) != 0) {
    state.SkipWithError("cannot start recording");
    return;
  }
  mmiotrace_set_divert(1);
  mmiotrace_mapping* mapping = mmiotrace_trace_range(page, 4096, 0xfe000000);
  if (mapping == nullptr) state.SkipWithError("cannot trace the page");
  run(state, page);
  mmiotrace_untrace_range(mapping);
  mmiotrace_set_divert(0);
  mmiotrace_trace_stop();
  munmap(const_cast<void*>(page), 4096);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("native", BM_Native);
  benchmark::RegisterBenchmark("emulate", BM_Emulated)->Iterations(200);
  benchmark::RegisterBenchmark("divert", BM_Diverted);
  benchmark::RegisterBenchmark("divert_recorded", BM_DivertedRecorded);
  mmiotrace::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  double native = reporter.time("native") / kWords;
  double emulated = reporter.time("emulate/iterations:200") / kWords;
  double diverted = reporter.time("divert") / kWords;
  double recorded = reporter.time("divert_recorded") / kWords;
  printf("\nns per 8-byte load in a hot loop: native %.2f, emulated %.1f, diverted %.2f, "
         "diverted and recorded %.2f\n",
         native, emulated, diverted, recorded);
  if (native > 0 && diverted > 0 && recorded > 0) {
    printf("diverted / native %.1f x, diverted and recorded / native %.1f x, emulated / diverted "
           "%.0f x\n",
           diverted / native, recorded / native, emulated / diverted);
    printf("a diverted access (no recording) at most 10 ns and 20 x native: %s\n",
           verdict(diverted <= 10 && diverted / native <= 20));
    printf("a diverted, recorded access at most 10 ns and 20 x native: %s\n",
           verdict(recorded <= 10 && recorded / native <= 20));
  }
  benchmark::Shutdown();
  return 0;
}
