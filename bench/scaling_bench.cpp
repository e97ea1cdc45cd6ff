// Multi-threaded scaling of traced accesses: 1, 2, 4 and 8 threads making emulated loads of the
// same traced page, and of a page each. There is no global lock on the hot path, so the
// throughput of N threads should be about min(N, cores) times one thread's: the benchmark
// reports each run's efficiency, throughput / (one thread's throughput x min(N, cores)), and
// the target is that it does not collapse (at least 0.5). Run: build/bin/scaling_bench
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "median_reporter.hpp"
#include "mmiotrace/mmiotrace.hpp"

namespace {

using mmiotrace::bench::verdict;

constexpr int kMaxThreads = 8;
uint8_t* g_pages = nullptr;  // kMaxThreads traced pages, registered for the whole run

// Every access is seen: the post handler counts it (per thread, without sharing a line).
struct alignas(64) Count {
  uint64_t accesses = 0;
};
thread_local Count t_count;
void count_access(mmiotrace_probe*, const mmiotrace_access*, void*) {
  ++t_count.accesses;
}

inline uint32_t load(const volatile uint8_t* address) {
  uint32_t value;
  asm volatile("movl (%%rdi), %%eax" : "=a"(value) : "D"(address) : "memory");
  return value;
}

void BM_SamePage(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(load(g_pages));
  state.SetItemsProcessed(state.iterations());
}

void BM_PageEach(benchmark::State& state) {
  const volatile uint8_t* page = g_pages + 4096 * static_cast<size_t>(state.thread_index());
  for (auto _ : state)
    benchmark::DoNotOptimize(load(page));
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_SamePage)->ThreadRange(1, kMaxThreads)->UseRealTime();
BENCHMARK(BM_PageEach)->ThreadRange(1, kMaxThreads)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  void* memory =
      mmap(nullptr, 4096 * kMaxThreads, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  g_pages = static_cast<uint8_t*>(memory);
  mmiotrace::ScopedProbe probe(g_pages, 4096 * kMaxThreads, nullptr, &count_access);
  if (probe.status()) {
    fprintf(stderr, "scaling_bench: cannot register the probe\n");
    return 1;
  }
  mmiotrace::bench::MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("\n%-12s %8s %16s %18s %11s\n", "access", "threads", "accesses/s", "per thread /s",
         "efficiency");
  bool met = true;
  for (const char* name : {"BM_SamePage", "BM_PageEach"}) {
    double one = reporter.counter(std::string(name) + "/real_time/threads:1", "items_per_second");
    for (int threads = 1; threads <= kMaxThreads; threads *= 2) {
      double rate = reporter.counter(
          std::string(name) + "/real_time/threads:" + std::to_string(threads), "items_per_second");
      if (one == 0 || rate == 0) continue;
      double efficiency = rate / (one * static_cast<double>(std::min<long>(threads, cores)));
      met &= efficiency >= 0.5;
      printf("%-12s %8d %16.0f %18.0f %11.2f\n", name + 3, threads, rate, rate / threads,
             efficiency);
    }
  }
  printf("\nno collapse with threads (efficiency >= 0.5 on %ld cores): %s\n", cores, verdict(met));
  benchmark::Shutdown();
  return 0;
}
