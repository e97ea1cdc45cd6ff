// mmiotrace: signal-safe
// An emulated access's time from the AArch64 virtual counter (CNTVCT_EL0), kept to
// CLOCK_MONOTONIC, for processes that have no vDSO: there clock_gettime is a system call, and
// under qemu-user (which gives AArch64 programs no vDSO before qemu 8.1) a system call leaves the
// translated code and looks its way back in, about 1,000 host instructions of the 23,000 a trap
// used to add to the bare round trip. The arithmetic here is pure, so that it is
// unit-tested on x86-64; reading the counter is AArch64's (access_time_ns, below).
#pragma once

#include <cstdint>

#include "core/monotonic_clock.hpp"

namespace mmiotrace::arm64 {

// How the counter's ticks become nanoseconds, from its frequency (CNTFRQ_EL0).
struct CounterScale {
  uint64_t nanoseconds_per_tick_q32 = 0;  // nanoseconds per tick, times 2^32; 0: not in use
  uint64_t anchor_ticks = 0;              // the most ticks read between two anchorings (10 ms)
};

constexpr CounterScale counter_scale(uint64_t ticks_per_second) {
  CounterScale scale;
  if (ticks_per_second < 1000 || ticks_per_second > 1000000000) return scale;  // implausible
  scale.nanoseconds_per_tick_q32 = (uint64_t{1000000000} << 32) / ticks_per_second;
  scale.anchor_ticks = ticks_per_second / 100;
  return scale;
}

// One thread's anchoring of the counter to CLOCK_MONOTONIC (initial-exec TLS on AArch64: written
// only by its thread, in or out of a signal handler).
struct CounterAnchor {
  uint64_t ticks = 0;
  uint64_t ns = 0;       // CLOCK_MONOTONIC when `ticks` was read; 0: not anchored yet
  uint64_t last_ns = 0;  // the last time given: a thread's times never go back
};

// The time now, `read_ticks()` converted: the anchor's CLOCK_MONOTONIC plus the ticks since. It
// re-anchors with one reading of `monotonic_ns()` (the system call) when the anchor is older than
// scale.anchor_ticks or the counter went back, so the counter's drift from CLOCK_MONOTONIC
// (qemu-user derives it from the host's CLOCK_REALTIME, which NTP slews and steps) stays within
// what 10 ms of it make. The anchor's ticks are the middle of two readings around the system
// call: off by at most half its latency (a thread's first call under qemu, which translates the
// call's code, takes some 15 us). A time is never less than the thread's last.
template <typename ReadTicks, typename MonotonicClock>
uint64_t counter_time_ns(const CounterScale& scale, CounterAnchor& anchor, ReadTicks read_ticks,
                         MonotonicClock monotonic_ns) {
  const uint64_t ticks = read_ticks();
  uint64_t ns;
  if (anchor.ns == 0 || ticks < anchor.ticks || ticks - anchor.ticks >= scale.anchor_ticks) {
    anchor.ns = monotonic_ns();
    const uint64_t after = read_ticks();
    anchor.ticks = after >= ticks ? ticks + (after - ticks) / 2 : after;
    ns = anchor.ns;
  } else {
    // Below 10 ms of ticks the product stays under 10^7 * 2^32: no overflow.
    ns = anchor.ns + (((ticks - anchor.ticks) * scale.nanoseconds_per_tick_q32) >> 32);
  }
  if (ns < anchor.last_ns) ns = anchor.last_ns;
  anchor.last_ns = ns;
  return ns;
}

#if defined(__aarch64__)
namespace detail {
// Set once, as the library loads, before any probe can trap; read-only after.
extern constinit CounterScale g_access_clock_scale;
extern constinit thread_local CounterAnchor t_access_clock_anchor
    __attribute__((tls_model("initial-exec")));
}  // namespace detail

// CLOCK_MONOTONIC in nanoseconds for an emulated access's record: from the counter when the
// process has no vDSO (decided once, as the library loads), else clock_gettime. Any thread, in
// or out of a signal handler. Inline: every trap asks.
inline uint64_t access_time_ns() {
  if (detail::g_access_clock_scale.nanoseconds_per_tick_q32 == 0) return monotonic_ns();
  const auto read_ticks = [] {
    uint64_t ticks;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(ticks));
    return ticks;
  };
  return counter_time_ns(detail::g_access_clock_scale, detail::t_access_clock_anchor, read_ticks,
                         monotonic_ns);
}
// Whether access_time_ns() reads the counter (the process has no vDSO).
inline bool access_time_from_counter() {
  return detail::g_access_clock_scale.nanoseconds_per_tick_q32 != 0;
}
#endif

}  // namespace mmiotrace::arm64
