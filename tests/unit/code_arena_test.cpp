// Unit tests for x86/code_arena: executable memory handed out near an address, and in a window
// of addresses that the caller's other bytes decide, mapped only where nothing was.
#include "x86/code_arena.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace mmiotrace::x86 {
namespace {

constexpr uintptr_t kPage = 4096;

// A free stretch of address space of `pages` pages, mapped and unmapped again to find it.
uintptr_t free_stretch(size_t pages) {
  void* probe = mmap(nullptr, pages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(probe, MAP_FAILED);
  munmap(probe, pages * kPage);
  return reinterpret_cast<uintptr_t>(probe);
}

// Code run where it was put: `mov $value, %eax; ret`.
int run_code_returning(uint8_t* code, int value) {
  code[0] = 0xb8;
  std::memcpy(code + 1, &value, sizeof(value));
  code[5] = 0xc3;
  return reinterpret_cast<int (*)()>(code)();
}

TEST(CodeArena, NearCodeIsWithinReachAndRuns) {
  static const int here = 0;
  auto near = reinterpret_cast<uintptr_t>(&here);
  uint8_t* code = allocate_code_near(near, 64);
  ASSERT_NE(code, nullptr);
  auto at = reinterpret_cast<uintptr_t>(code);
  EXPECT_LE(at > near ? at - near : near - at, kNearReach);
  EXPECT_TRUE(in_near_code(at));
  EXPECT_EQ(run_code_returning(code, 41), 41);
}

TEST(CodeArena, WindowCodeBeginsInTheWindowAndSharesItsPage) {
  uintptr_t stretch = free_stretch(16);
  uintptr_t low = stretch + 5 * kPage + 100;
  uintptr_t high = low + 255;
  uint8_t* first = allocate_code_in_window(low, high, 21);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first), low);  // the lowest address free there
  EXPECT_EQ(run_code_returning(first, 7), 7);
  uint8_t* second = allocate_code_in_window(low, high, 21);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second, first + 21);  // carved from the same page
  // A window that ends before the page's free part begins gets a page of its own, or nothing.
  // (The page stays: the arena never gives memory back.)
  EXPECT_EQ(allocate_code_in_window(low, low + 10, 21), nullptr);
}

TEST(CodeArena, WindowCodeIsNeverMappedOverWhatIsThere) {
  uintptr_t stretch = free_stretch(4);
  void* taken = mmap(reinterpret_cast<void*>(stretch), 4 * kPage, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_EQ(taken, reinterpret_cast<void*>(stretch));
  EXPECT_EQ(allocate_code_in_window(stretch + 10, stretch + 3 * kPage, 21), nullptr);
  munmap(taken, 4 * kPage);
}

TEST(CodeArena, WindowCodeStaysOutOfTheHeapsRoomAndOutOfUserSpaceLimits) {
  auto brk = reinterpret_cast<uintptr_t>(sbrk(0));
  uintptr_t above_brk = (brk + kPage) & ~(kPage - 1);
  EXPECT_EQ(allocate_code_in_window(above_brk, above_brk + 255, 21), nullptr);
  EXPECT_EQ(allocate_code_in_window(0, 4096, 21), nullptr);  // below vm.mmap_min_addr
  EXPECT_EQ(allocate_code_in_window(uintptr_t{1} << 47, (uintptr_t{1} << 47) + 4096, 21), nullptr);
}

}  // namespace
}  // namespace mmiotrace::x86
