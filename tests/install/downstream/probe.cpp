// A downstream C++ program of the probe API (mmiotrace.hpp): a scoped probe on its own memory
// counts the accesses its handler sees. Exits 0 when the counts are right.
#include <mmiotrace/mmiotrace.hpp>

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>

namespace {

unsigned reads, writes;

// Runs inside a signal handler: counts only.
void on_access(mmiotrace_probe*, const mmiotrace::Access* access, void*) {
  if (mmiotrace::kind_of(*access) == mmiotrace::AccessKind::Read) ++reads;
  if (mmiotrace::kind_of(*access) == mmiotrace::AccessKind::Write) ++writes;
}

}  // namespace

int main() {
  void* memory = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return 1;
  auto* regs = static_cast<volatile uint64_t*>(memory);
  uint64_t sum = 0;
  {
    mmiotrace::ScopedProbe probe(regs, 4096, nullptr, &on_access);
    if (probe.status()) {
      std::fprintf(stderr, "probe_cpp: %s\n", probe.status().message().c_str());
      return 1;
    }
    for (uint64_t i = 0; i < 3; ++i)
      regs[i] = i * 10;
    for (uint64_t i = 0; i < 3; ++i)
      sum += regs[i];
  }
  regs[0] = 1;  // no longer traced
  std::printf("probe_cpp: sum %llu, %u reads, %u writes, %zu probes left\n",
              static_cast<unsigned long long>(sum), reads, writes, mmiotrace::probe_count());
  return sum == 30 && reads == 3 && writes == 3 && mmiotrace::probe_count() == 0 ? 0 : 1;
}
