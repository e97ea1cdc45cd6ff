// mmiotrace: signal-safe
// The trace's time base: CLOCK_MONOTONIC in nanoseconds (vDSO, async-signal-safe).
#pragma once

#include <cstdint>
#include <ctime>

namespace mmiotrace {

inline uint64_t monotonic_ns() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace mmiotrace
