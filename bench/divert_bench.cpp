// The code cache's speed (issue 9): an 8-byte load in a hot loop over a traced page, native,
// emulated (one signal per access), diverted into the code cache with a probe that records
// nothing (the instrumentation and the hand-over of its log), and diverted while the process
// records itself into /dev/null (the whole recording path, its writer thread draining on the
// other core). Then straight-line code entered from untranslated code, as a driver's register
// setup function is called: 16 loads and a ret, called in a loop, native and diverted (its entry
// patched with a jump into the code cache after three traps, or, with patching off, one trap per
// call), and patched while another thread of the process runs (the entry, a 3-byte load, gets a
// jump over its own bytes alone, as a process with threads needs). Ratios within one run. Targets:
// a steady-state traced access at most 10 ns and at most 20 x native; straight-line code with
// patched entries at most 20 ns per access. Run: build/bin/divert_bench
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdio>
#include <future>
#include <string>
#include <thread>

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

// Straight-line register reads: 16 loads from the page in %rdi, then ret. In file-backed code,
// so that its entry can be patched.
constexpr int kStraightLoads = 16;
asm(R"(
        .text
        .globl divert_bench_straight_line
divert_bench_straight_line:
        mov (%rdi), %rax
        mov 0x8(%rdi), %rcx
        mov 0x10(%rdi), %rdx
        mov 0x18(%rdi), %rsi
        mov 0x20(%rdi), %rax
        mov 0x28(%rdi), %rcx
        mov 0x30(%rdi), %rdx
        mov 0x38(%rdi), %rsi
        mov 0x40(%rdi), %rax
        mov 0x48(%rdi), %rcx
        mov 0x50(%rdi), %rdx
        mov 0x58(%rdi), %rsi
        mov 0x60(%rdi), %rax
        mov 0x68(%rdi), %rcx
        mov 0x70(%rdi), %rdx
        mov 0x78(%rdi), %rsi
        ret
)");
extern "C" void divert_bench_straight_line(volatile void* page);

volatile void* map_page() {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return page == MAP_FAILED ? nullptr : page;
}

void run(benchmark::State& state, volatile void* page) {
  for (auto _ : state)
    benchmark::DoNotOptimize(sum_page(page));
  state.SetItemsProcessed(state.iterations() * kWords);
}

void run_straight_line(benchmark::State& state, volatile void* page) {
  for (auto _ : state)
    divert_bench_straight_line(page);
  state.SetItemsProcessed(state.iterations() * kStraightLoads);
}

using Loop = void (*)(benchmark::State&, volatile void*);

// `loop` over an untraced page.
void native(benchmark::State& state, Loop loop) {
  volatile void* page = map_page();
  loop(state, page);
  munmap(const_cast<void*>(page), 4096);
}

// `loop` over a page traced by a probe without handlers, diverted or not, patching or not.
void probed(benchmark::State& state, Loop loop, bool divert, bool patch) {
  volatile void* page = map_page();
  mmiotrace_set_divert(divert ? 1 : 0);
  mmiotrace_set_patch(patch ? 1 : 0);
  {
    mmiotrace::ScopedProbe probe(page, 4096, nullptr, nullptr);
    if (probe.status()) state.SkipWithError("cannot register the probe");
    loop(state, page);
  }
  mmiotrace_set_patch(1);
  mmiotrace_set_divert(0);
  munmap(const_cast<void*>(page), 4096);
}

void BM_Native(benchmark::State& state) {
  native(state, run);
}
void BM_Emulated(benchmark::State& state) {
  probed(state, run, false, true);
}
void BM_Diverted(benchmark::State& state) {
  probed(state, run, true, true);
}
void BM_StraightNative(benchmark::State& state) {
  native(state, run_straight_line);
}
void BM_StraightPatched(benchmark::State& state) {
  probed(state, run_straight_line, true, true);
}
void BM_StraightUnpatched(benchmark::State& state) {
  probed(state, run_straight_line, true, false);
}

// Straight-line code with its entry patched while the process has another thread (waiting).
void BM_StraightPatchedWithAnotherThread(benchmark::State& state) {
  std::promise<void> finished;
  std::thread other([done = finished.get_future()] { done.wait(); });
  probed(state, run_straight_line, true, true);
  finished.set_value();
  other.join();
}

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
  benchmark::RegisterBenchmark("straight_native", BM_StraightNative);
  benchmark::RegisterBenchmark("straight_patched", BM_StraightPatched);
  benchmark::RegisterBenchmark("straight_unpatched", BM_StraightUnpatched)->Iterations(2000);
  benchmark::RegisterBenchmark("straight_patched_threads", BM_StraightPatchedWithAnotherThread);
  mmiotrace::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  double native = reporter.time("native") / kWords;
  double emulated = reporter.time("emulate/iterations:200") / kWords;
  double diverted = reporter.time("divert") / kWords;
  double recorded = reporter.time("divert_recorded") / kWords;
  printf(
      "\nns per 8-byte load in a hot loop: native %.2f, emulated %.1f, diverted %.2f, "
      "diverted and recorded %.2f\n",
      native, emulated, diverted, recorded);
  if (native > 0 && diverted > 0 && recorded > 0) {
    printf(
        "diverted / native %.1f x, diverted and recorded / native %.1f x, emulated / diverted "
        "%.0f x\n",
        diverted / native, recorded / native, emulated / diverted);
    printf("a diverted access (no recording) at most 10 ns and 20 x native: %s\n",
           verdict(diverted <= 10 && diverted / native <= 20));
    printf("a diverted, recorded access at most 10 ns and 20 x native: %s\n",
           verdict(recorded <= 10 && recorded / native <= 20));
  }
  double straight_native = reporter.time("straight_native") / kStraightLoads;
  double straight_patched = reporter.time("straight_patched") / kStraightLoads;
  double straight_unpatched = reporter.time("straight_unpatched/iterations:2000") / kStraightLoads;
  double straight_threads = reporter.time("straight_patched_threads") / kStraightLoads;
  printf(
      "\nns per load of straight-line code called in a loop: native %.2f, diverted with its "
      "entry patched %.2f (%.2f with another thread), diverted with a trap per call %.1f\n",
      straight_native, straight_patched, straight_threads, straight_unpatched);
  if (straight_patched > 0 && straight_unpatched > 0) {
    printf("trap per call / patched entry %.0f x\n", straight_unpatched / straight_patched);
    printf("straight-line code with patched entries at most 20 ns per access: %s\n",
           verdict(straight_patched <= 20));
    printf("... and with another thread running: %s\n", verdict(straight_threads <= 20));
  }
  benchmark::Shutdown();
  return 0;
}
