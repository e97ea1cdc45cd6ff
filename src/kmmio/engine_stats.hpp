// mmiotrace: signal-safe
// Process-wide counters of the engine, updated from signal handlers with relaxed atomics.
#pragma once

#include <atomic>
#include <cstdint>

namespace mmiotrace::kmmio {

struct EngineStats {
  std::atomic<uint64_t> faults_handled{0};
  std::atomic<uint64_t> faults_passed_on{0};
  std::atomic<uint64_t> recursive_faults{0};
  std::atomic<uint64_t> emulated{0};
  std::atomic<uint64_t> single_stepped{0};
  std::atomic<uint64_t> diverted{0};           // faults continued in the code cache
  std::atomic<uint64_t> diverted_accesses{0};  // accesses the code cache made and logged
  std::atomic<uint64_t> entries_patched{0};    // sites given a jump into the code cache
};

inline EngineStats& engine_stats() {
  static constinit EngineStats stats;
  return stats;
}

inline void count_handled() {
  engine_stats().faults_handled.fetch_add(1, std::memory_order_relaxed);
}
inline void count_passed_on() {
  engine_stats().faults_passed_on.fetch_add(1, std::memory_order_relaxed);
}
inline void count_emulated() {
  engine_stats().emulated.fetch_add(1, std::memory_order_relaxed);
}
inline void count_single_stepped() {
  engine_stats().single_stepped.fetch_add(1, std::memory_order_relaxed);
}
inline void count_diverted() {
  engine_stats().diverted.fetch_add(1, std::memory_order_relaxed);
}
inline void count_patched() {
  engine_stats().entries_patched.fetch_add(1, std::memory_order_relaxed);
}
inline void count_recursive() {
  engine_stats().recursive_faults.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace mmiotrace::kmmio
