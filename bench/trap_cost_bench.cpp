// The cost of one traced access, by strategy, against a native access and the bare SIGSEGV
// round trip (a handler that only sets the result and advances RIP), measured in one run on one
// machine. The emulation target: at most 1.2 times the bare round trip; single-step: no more
// than the seed's cycle. Run: build/bin/trap_cost_bench [--benchmark_repetitions=N]
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <csignal>

#include <cstdio>
#include <map>
#include <string>

#include "mmiotrace/mmiotrace.hpp"

namespace {

volatile uint32_t* map_page(int prot) {
  void* page = mmap(nullptr, 4096, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return static_cast<volatile uint32_t*>(page);
}

// One 4-byte load, always the same two-byte instruction: movl (%rdi), %eax.
uint32_t load(volatile uint32_t* address) {
  uint32_t value;
  asm volatile("movl (%%rdi), %%eax" : "=a"(value) : "D"(address) : "memory");
  return value;
}

void BM_NativeLoad(benchmark::State& state) {
  volatile uint32_t* page = map_page(PROT_READ | PROT_WRITE);
  for (auto _ : state) benchmark::DoNotOptimize(load(page));
  munmap(const_cast<uint32_t*>(page), 4096);
}

// The floor of any one-signal design: fault, deliver, return.
void skip_load(int, siginfo_t*, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  uc->uc_mcontext.gregs[REG_RAX] = 1;
  uc->uc_mcontext.gregs[REG_RIP] += 2;  // the length of load()'s instruction
}

void BM_BareSigsegvRoundTrip(benchmark::State& state) {
  volatile uint32_t* page = map_page(PROT_NONE);
  struct sigaction action = {}, previous = {};
  action.sa_sigaction = &skip_load;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, &previous);
  for (auto _ : state) benchmark::DoNotOptimize(load(page));
  sigaction(SIGSEGV, &previous, nullptr);
  munmap(const_cast<uint32_t*>(page), 4096);
}

void traced_loads(benchmark::State& state, mmiotrace::Strategy strategy) {
  volatile uint32_t* page = map_page(PROT_READ | PROT_WRITE);
  mmiotrace::set_strategy(strategy);
  mmiotrace::ScopedProbe probe(page, 4096, nullptr, nullptr);
  if (probe.status()) state.SkipWithError("cannot register the probe");
  for (auto _ : state) benchmark::DoNotOptimize(load(page));
}

void BM_EmulatedLoad(benchmark::State& state) { traced_loads(state, mmiotrace::Strategy::Emulate); }
void BM_SingleSteppedLoad(benchmark::State& state) {
  traced_loads(state, mmiotrace::Strategy::SingleStep);
}

// Keeps the median time per iteration of each benchmark.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      medians_[run.run_name.function_name] = run.GetAdjustedRealTime();
    }
  }
  double median(const std::string& name) const {
    auto found = medians_.find(name);
    return found == medians_.end() ? 0 : found->second;
  }

 private:
  std::map<std::string, double> medians_;
};

}  // namespace

// The bare round trip runs first, before the engine takes SIGSEGV over.
BENCHMARK(BM_NativeLoad);
BENCHMARK(BM_BareSigsegvRoundTrip);
BENCHMARK(BM_EmulatedLoad);
BENCHMARK(BM_SingleSteppedLoad);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  double bare = reporter.median("BM_BareSigsegvRoundTrip");
  double emulated = reporter.median("BM_EmulatedLoad");
  double stepped = reporter.median("BM_SingleSteppedLoad");
  if (bare > 0 && emulated > 0) {
    double ratio = emulated / bare;
    printf("\nemulated / bare SIGSEGV round trip: %.2f (target <= 1.20: %s)\n", ratio,
           ratio <= 1.2 ? "met" : "NOT MET");
  }
  if (bare > 0 && stepped > 0) {
    printf("single-stepped / bare SIGSEGV round trip: %.2f\n", stepped / bare);
  }
  benchmark::Shutdown();
  return 0;
}
