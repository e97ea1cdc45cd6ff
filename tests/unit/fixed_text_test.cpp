// Unit tests for core/fixed_text: formatting into fixed buffers.
#include "core/fixed_text.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace mmiotrace {
namespace {

TEST(FixedText, FormatsNumbersLikePrintf) {
  FixedText<128> out;
  out.decimal(0).character(' ').decimal(18446744073709551615ull).character(' ');
  out.signed_decimal(-42).character(' ').signed_decimal(INT64_MIN).character(' ');
  out.hex(0).character(' ').hex0x(0xdeadBEEF).character(' ').hex(0xa, 2).character(' ');
  out.decimal_padded(42, 6);
  EXPECT_EQ(out.view(), "0 18446744073709551615 -42 -9223372036854775808 0 0xdeadbeef 0a 000042");
  EXPECT_FALSE(out.truncated());
}

TEST(FixedText, OverflowIsCutAndFlagged) {
  FixedText<4> out;
  out.text("abcdef");
  EXPECT_EQ(out.view(), "abcd");
  EXPECT_TRUE(out.truncated());
  out.truncate_to(2);
  EXPECT_EQ(out.view(), "ab");
  EXPECT_FALSE(out.truncated());
}

}  // namespace
}  // namespace mmiotrace
