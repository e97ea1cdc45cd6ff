// Unit tests for core/process_layout: /proc/self/stat fields and /proc/self/maps lines read
// without libc, and the room kept free for the heap's and the main stack's growth.
#include "core/process_layout.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace mmiotrace {
namespace {

TEST(ProcessLayout, StatFieldsAreTheKernelsNumbers) {
  EXPECT_EQ(self_stat_field(4), getppid());  // ppid
  long threads = self_stat_field(20);
  ASSERT_GE(threads, 1);
  std::atomic<bool> done{false};
  std::thread other([&done] {
    while (!done.load())
      std::this_thread::yield();
  });
  EXPECT_EQ(self_stat_field(20), threads + 1);
  done.store(true);
  other.join();
  // startstack lies above this frame (the test runs on the main thread's stack).
  int local = 0;
  EXPECT_GT(static_cast<uintptr_t>(self_stat_field(28)), reinterpret_cast<uintptr_t>(&local));
  // Fields 1 to 3 are not numbers, and there is no field 100.
  EXPECT_EQ(self_stat_field(2), -1);
  EXPECT_EQ(self_stat_field(100), -1);
}

TEST(ProcessLayout, TheMappingOfAnAddressIsTheLineOfMapsThatHoldsIt) {
  SelfMapping code;
  auto function = reinterpret_cast<uintptr_t>(&self_stat_field);
  ASSERT_TRUE(self_mapping_of(function, &code));
  EXPECT_LE(code.start, function);
  EXPECT_GT(code.end, function);
  EXPECT_TRUE(code.readable && code.executable && code.file);
  EXPECT_FALSE(code.writable);
  static int data = 0;
  SelfMapping writable;
  ASSERT_TRUE(self_mapping_of(reinterpret_cast<uintptr_t>(&data), &writable));
  EXPECT_TRUE(writable.readable && writable.writable);
  EXPECT_FALSE(writable.executable);
  void* anonymous = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(anonymous, MAP_FAILED);
  SelfMapping page;
  ASSERT_TRUE(self_mapping_of(reinterpret_cast<uintptr_t>(anonymous), &page));
  EXPECT_LE(page.start, reinterpret_cast<uintptr_t>(anonymous));       // (maybe merged with a
  EXPECT_GE(page.end, reinterpret_cast<uintptr_t>(anonymous) + 4096);  // neighbour)
  EXPECT_FALSE(page.file);
  munmap(anonymous, 4096);
  EXPECT_FALSE(self_mapping_of(reinterpret_cast<uintptr_t>(anonymous), &page));
}

TEST(ProcessLayout, TheHeapAndTheMainStackKeepTheirRoomToGrow) {
  const GrowthRoom room = GrowthRoom::now();
  auto clear_of_growth = [&room](uintptr_t address, size_t size) {
    return room.clear(address, size);
  };
  auto brk = reinterpret_cast<uintptr_t>(sbrk(0));
  EXPECT_FALSE(clear_of_growth(brk, 4096));
  EXPECT_FALSE(clear_of_growth(brk + kGrowthRoom - 4096, 4096));
  EXPECT_TRUE(clear_of_growth(brk + kGrowthRoom, 4096));
  // A range that starts below the break and reaches into its room.
  EXPECT_FALSE(clear_of_growth(brk - 8192, 16384));
  auto stack_start = static_cast<uintptr_t>(self_stat_field(28));
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_STACK, &limit), 0);
  EXPECT_FALSE(clear_of_growth(stack_start - 4096, 4096));
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (uint64_t{1} << 32)) {
    uintptr_t stack_low = stack_start - limit.rlim_cur - kGrowthRoom;
    EXPECT_FALSE(clear_of_growth(stack_low, 4096));
    EXPECT_TRUE(clear_of_growth(stack_low - 4096, 4096));
  }
}

// With `ulimit -s unlimited` the kernel places the program and its libraries far below the
// stack (the legacy layout); the stack keeps kMaxStackRoom, and code can still go near the
// program (it could not when an unlimited stack counted as the upper half of the address space).
// Run in a child, which sets the limit: 0 when it holds (or the limit cannot be raised), 1 not.
void check_room_with_an_unlimited_stack() {
  struct rlimit limit;
  getrlimit(RLIMIT_STACK, &limit);
  if (limit.rlim_max != RLIM_INFINITY) _exit(0);
  limit.rlim_cur = RLIM_INFINITY;
  if (setrlimit(RLIMIT_STACK, &limit) != 0) _exit(0);
  const GrowthRoom room = GrowthRoom::now();
  auto stack_start = static_cast<uintptr_t>(self_stat_field(28));
  static const int here = 0;
  const uintptr_t near_program = reinterpret_cast<uintptr_t>(&here) - (uintptr_t{64} << 20);
  const bool program = room.clear(near_program, 4096);
  const bool stack = !room.clear(stack_start - kMaxStackRoom, 4096) &&
                     room.clear(stack_start - kMaxStackRoom - kGrowthRoom - 4096, 4096);
  _exit(program && stack ? 0 : 1);
}

TEST(ProcessLayout, AnUnlimitedStackKeepsABoundedRoomAndLeavesTheProgramsNeighbourhood) {
  EXPECT_EXIT(check_room_with_an_unlimited_stack(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace mmiotrace
