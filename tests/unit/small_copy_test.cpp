// Unit tests for core/small_copy: every size it takes is copied or zeroed exactly, and nothing
// beyond it is touched.
#include "core/small_copy.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace mmiotrace {
namespace {

TEST(SmallCopy, CopiesEverySizeExactlyAndNothingBeyond) {
  uint8_t source[kMaxSmallCopy + 1];
  for (size_t i = 0; i < sizeof(source); ++i)
    source[i] = static_cast<uint8_t>(i + 1);
  for (size_t size = 0; size <= kMaxSmallCopy; ++size) {
    uint8_t destination[kMaxSmallCopy + 8];
    for (uint8_t& byte : destination)
      byte = 0xee;
    copy_small(destination + 1, source, size);
    EXPECT_EQ(destination[0], 0xee) << size;
    for (size_t i = 0; i < size; ++i)
      ASSERT_EQ(destination[1 + i], source[i]) << size << " " << i;
    for (size_t i = size + 1; i < sizeof(destination); ++i) {
      ASSERT_EQ(destination[i], 0xee) << size << " " << i;
    }
  }
}

TEST(SmallCopy, ZeroesEverySizeExactlyAndNothingBeyond) {
  for (size_t size = 0; size <= kMaxSmallCopy; ++size) {
    uint8_t destination[kMaxSmallCopy + 8];
    for (uint8_t& byte : destination)
      byte = 0xee;
    zero_small(destination + 3, size);
    for (size_t i = 0; i < sizeof(destination); ++i) {
      const bool zeroed = i >= 3 && i < 3 + size;
      ASSERT_EQ(destination[i], zeroed ? 0 : 0xee) << size << " " << i;
    }
  }
}

}  // namespace
}  // namespace mmiotrace
