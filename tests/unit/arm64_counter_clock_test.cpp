// Unit tests for arm64/counter_clock: an emulated access's time from the AArch64 virtual counter,
// anchored to CLOCK_MONOTONIC. The arithmetic with a counter and a clock the tests set; on AArch64
// (under qemu-user in CI, which has no vDSO) the real counter against clock_gettime too.
#include "arm64/counter_clock.hpp"

#include <gtest/gtest.h>
#include <sys/auxv.h>

#include <cstdint>
#include <ctime>

namespace mmiotrace::arm64 {
namespace {

// A CLOCK_MONOTONIC the test sets, counting its readings, and a counter that the clock's reading
// moves on by `ticks_per_reading` (the system call's latency).
struct SetClock {
  uint64_t now = 0;
  int readings = 0;
  uint64_t ticks = 0;
  uint64_t ticks_per_reading = 0;
};
SetClock g_clock;
uint64_t read_set_clock() {
  ++g_clock.readings;
  g_clock.ticks += g_clock.ticks_per_reading;
  return g_clock.now;
}
uint64_t read_set_counter() {
  return g_clock.ticks;
}

class CounterClock : public ::testing::Test {
 protected:
  void SetUp() override { g_clock = SetClock{}; }
  uint64_t time_at(uint64_t ticks) {
    g_clock.ticks = ticks;
    return counter_time_ns(scale, anchor, read_set_counter, read_set_clock);
  }

  CounterScale scale = counter_scale(62500000);  // qemu-user's counter: 16 ns a tick
  CounterAnchor anchor;
};

TEST(CounterScale, GivesNanosecondsPerTickForCommonFrequencies) {
  // qemu-user's 62.5 MHz: exactly 16 ns a tick.
  EXPECT_EQ(counter_scale(62500000).nanoseconds_per_tick_q32, uint64_t{16} << 32);
  EXPECT_EQ(counter_scale(62500000).anchor_ticks, 625000u);
  // A second's ticks at the Raspberry Pi's 19.2 MHz, 54 MHz and Arm's recommended 1 GHz: a second.
  for (uint64_t hertz : {19200000ull, 54000000ull, 1000000000ull}) {
    const CounterScale scale = counter_scale(hertz);
    const uint64_t ten_ms = (scale.anchor_ticks * scale.nanoseconds_per_tick_q32) >> 32;
    EXPECT_NEAR(static_cast<double>(ten_ms), 1e7, 1.0) << hertz;
  }
}

TEST(CounterScale, RefusesAFrequencyNoCounterHas) {
  EXPECT_EQ(counter_scale(0).nanoseconds_per_tick_q32, 0u);
  EXPECT_EQ(counter_scale(999).nanoseconds_per_tick_q32, 0u);
  EXPECT_EQ(counter_scale(2000000000).nanoseconds_per_tick_q32, 0u);
}

TEST_F(CounterClock, TheFirstReadingAnchorsToTheSystemClock) {
  g_clock.now = 5000000000;
  EXPECT_EQ(time_at(1000), 5000000000u);
  EXPECT_EQ(g_clock.readings, 1);
}

TEST_F(CounterClock, ReadingsWithinTenMillisecondsCountTicksAndMakeNoSystemCall) {
  g_clock.now = 5000000000;
  time_at(1000);
  g_clock.now = 1;  // not read again
  EXPECT_EQ(time_at(1001), 5000000016u);
  EXPECT_EQ(time_at(1000 + 62500), 5001000000u);   // a millisecond later
  EXPECT_EQ(time_at(1000 + 624999), 5009999984u);  // the last tick before 10 ms
  EXPECT_EQ(g_clock.readings, 1);
}

TEST_F(CounterClock, AnchorsAtTheMiddleOfTheSystemCall) {
  // A thread's first system call under qemu is translated first: 15 us between the readings.
  g_clock.ticks_per_reading = 937;  // 14,992 ns
  g_clock.now = 5000000000;
  EXPECT_EQ(time_at(1000), 5000000000u);
  g_clock.ticks_per_reading = 0;
  EXPECT_EQ(anchor.ticks, 1000u + 468);
  EXPECT_EQ(time_at(1000 + 937 + 62500), 5001007504u);  // 1 ms and half the latency later
}

TEST_F(CounterClock, ReanchorsAfterTenMilliseconds) {
  g_clock.now = 5000000000;
  time_at(1000);
  g_clock.now = 5010000500;  // CLOCK_MONOTONIC ran 500 ns ahead of the counter
  EXPECT_EQ(time_at(1000 + 625000), 5010000500u);
  EXPECT_EQ(g_clock.readings, 2);
  EXPECT_EQ(time_at(1000 + 625001), 5010000516u);  // from the new anchor
  EXPECT_EQ(g_clock.readings, 2);
}

TEST_F(CounterClock, ReanchorsWhenTheCounterGoesBack) {
  // qemu-user's counter follows the host's CLOCK_REALTIME, which can be set back.
  g_clock.now = 5000000000;
  time_at(1000000);
  g_clock.now = 5000100000;
  EXPECT_EQ(time_at(10), 5000100000u);
  EXPECT_EQ(g_clock.readings, 2);
}

TEST_F(CounterClock, AThreadsTimeNeverGoesBack) {
  g_clock.now = 5000000000;
  time_at(1000);
  EXPECT_EQ(time_at(1000 + 620000), 5009920000u);
  // The counter ran fast: at the next anchoring CLOCK_MONOTONIC is behind the last time given.
  g_clock.now = 5009000000;
  EXPECT_EQ(time_at(1000 + 630000), 5009920000u);
  EXPECT_EQ(time_at(1000 + 630000 + 62500), 5010000000u);  // and goes on from its own anchor
}

#if defined(__aarch64__)
uint64_t clock_monotonic_ns() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000ull + static_cast<uint64_t>(now.tv_nsec);
}

TEST(AccessTime, ReadsTheCounterExactlyWhenTheProcessHasNoVdso) {
  EXPECT_EQ(access_time_from_counter(), getauxval(AT_SYSINFO_EHDR) == 0);
}

TEST(AccessTime, StaysWithinAMillisecondOfClockMonotonicAndNeverGoesBack) {
  uint64_t last = 0;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t before = clock_monotonic_ns();
    const uint64_t now = access_time_ns();
    const uint64_t after = clock_monotonic_ns();
    ASSERT_GE(now, last) << i;
    // The counter's resolution under qemu-user is the host's microsecond (gettimeofday).
    ASSERT_GE(now + 1000000, before) << i;
    ASSERT_LE(now, after + 1000000) << i;
    last = now;
  }
}
#endif

}  // namespace
}  // namespace mmiotrace::arm64
