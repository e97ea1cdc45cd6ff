// Unit tests for arm64/out_of_line: which A64 words run out of line and the range each may
// touch. The words are binutils' encodings of the instruction in each comment
// (aarch64-linux-gnu-as -march=armv8.7-a+sve+f64mm+ls64).
#include "arm64/out_of_line.hpp"

#include <gtest/gtest.h>

#include "arm64/decoder.hpp"

namespace mmiotrace::arm64 {
namespace {

constexpr unsigned kVectorBytes = 32;  // a 256-bit SVE implementation

struct Registers {
  uint64_t x[31] = {};
  Registers() {
    x[2] = 0x10000;  // the base of every word below
    x[3] = 5;        // the index of the scalar-plus-scalar forms
  }
};

OutOfLineForm form_of(uint32_t word) {
  OutOfLineForm form;
  EXPECT_TRUE(out_of_line_form(word, form)) << std::hex << word;
  return form;
}

// The range of `word` from base 0x10000 with X3 = 5, as offset from the base and size.
std::pair<int64_t, uint64_t> range_of(uint32_t word) {
  const OutOfLineForm form = form_of(word);
  EXPECT_EQ(form.base_register, 2) << std::hex << word;
  Registers registers;
  Footprint footprint;
  EXPECT_TRUE(out_of_line_footprint(form, registers.x, kVectorBytes, footprint));
  return {static_cast<int64_t>(footprint.address - 0x10000), footprint.bytes};
}

using Range = std::pair<int64_t, uint64_t>;

TEST(Arm64OutOfLine, ContiguousLoadsWithAnImmediateCountWholeVectors) {
  EXPECT_EQ(range_of(0xa401a440), Range(32, 32));      // ld1b {z0.b}, p1/z, [x2, #1, mul vl]
  EXPECT_EQ(range_of(0xa468a440), Range(-32, 4));      // ld1b {z0.d}, p1/z, [x2, #-8, mul vl]
  EXPECT_EQ(range_of(0xa5c0a440), Range(0, 16));       // ld1sb {z0.h}, p1/z, [x2]
  EXPECT_EQ(range_of(0xa557a440), Range(7 * 32, 32));  // ldnf1w {z0.s}, p1/z, [x2, #7, mul vl]
  EXPECT_EQ(range_of(0xa401e440), Range(32, 32));      // ldnt1b {z0.b}, p1/z, [x2, #1, mul vl]
  EXPECT_EQ(range_of(0xa421e440), Range(64, 64));      // ld2b {z0.b, z1.b}, p1/z, [x2, #2, mul vl]
  EXPECT_EQ(range_of(0xa5e8e440), Range(-1024, 128));  // ld4d {z0.d-z3.d}, p1/z, [x2, #-32, mul vl]
}

TEST(Arm64OutOfLine, ContiguousLoadsWithAnIndexScaleItByTheMemoryElement) {
  EXPECT_EQ(range_of(0xa5e34440), Range(40, 32));  // ld1d {z0.d}, p1/z, [x2, x3, lsl #3]
  EXPECT_EQ(range_of(0xa5434440), Range(20, 32));  // ld1w {z0.s}, p1/z, [x2, x3, lsl #2]
  EXPECT_EQ(range_of(0xa4834440), Range(20, 16));  // ld1sw {z0.d}, p1/z, [x2, x3, lsl #2]
  EXPECT_EQ(range_of(0xa4036440), Range(5, 32));   // ldff1b {z0.b}, p1/z, [x2, x3]
  EXPECT_EQ(range_of(0xa583c440), Range(40, 32));  // ldnt1d {z0.d}, p1/z, [x2, x3, lsl #3]
  EXPECT_EQ(range_of(0xa4c3c440), Range(10, 96));  // ld3h {z0.h-z2.h}, p1/z, [x2, x3, lsl #1]
  // LDFF1 takes XZR as its index: no offset.
  EXPECT_EQ(range_of(0xa41f6440), Range(0, 32));  // ldff1b {z0.b}, p1/z, [x2, xzr]
}

TEST(Arm64OutOfLine, ReplicatingLoadsTouchOneQuadwordOrOneElement) {
  EXPECT_EQ(range_of(0xa4012440), Range(16, 16));  // ld1rqb {z0.b}, p1/z, [x2, #16]
  EXPECT_EQ(range_of(0xa5830440), Range(40, 16));  // ld1rqd {z0.d}, p1/z, [x2, x3, lsl #3]
  EXPECT_EQ(range_of(0xa4212440), Range(32, 32));  // ld1rob {z0.b}, p1/z, [x2, #32]
  EXPECT_EQ(range_of(0x847f8440), Range(63, 1));   // ld1rb {z0.b}, p1/z, [x2, #63]
  EXPECT_EQ(range_of(0x84ff8440), Range(252, 4));  // ld1rsw {z0.d}, p1/z, [x2, #252]
  EXPECT_EQ(range_of(0x85ffe440), Range(504, 8));  // ld1rd {z0.d}, p1/z, [x2, #504]
}

TEST(Arm64OutOfLine, RegisterFillAndSpillCountVectorsOrPredicates) {
  EXPECT_EQ(range_of(0x85a04040), Range(-256 * 32, 32));  // ldr z0, [x2, #-256, mul vl]
  EXPECT_EQ(range_of(0x859f1c40), Range(255 * 4, 4));     // ldr p0, [x2, #255, mul vl]
  EXPECT_EQ(range_of(0xe5804c40), Range(3 * 32, 32));     // str z0, [x2, #3, mul vl]
  EXPECT_EQ(range_of(0xe5bf1c40), Range(-4, 4));          // str p0, [x2, #-1, mul vl]
  EXPECT_TRUE(form_of(0xe5804c40).writes_memory);
  EXPECT_FALSE(form_of(0x85a04040).writes_memory);
}

TEST(Arm64OutOfLine, ContiguousStores) {
  EXPECT_EQ(range_of(0xe401e440), Range(32, 32));    // st1b {z0.b}, p1, [x2, #1, mul vl]
  EXPECT_EQ(range_of(0xe4634440), Range(5, 4));      // st1b {z0.d}, p1, [x2, x3]
  EXPECT_EQ(range_of(0xe5e34440), Range(40, 32));    // st1d {z0.d}, p1, [x2, x3, lsl #3]
  EXPECT_EQ(range_of(0xe548e440), Range(-256, 32));  // st1w {z0.s}, p1, [x2, #-8, mul vl]
  EXPECT_EQ(range_of(0xe411e440), Range(32, 32));    // stnt1b {z0.b}, p1, [x2, #1, mul vl]
  EXPECT_EQ(range_of(0xe5836440), Range(40, 32));    // stnt1d {z0.d}, p1, [x2, x3, lsl #3]
  EXPECT_EQ(range_of(0xe431e440), Range(64, 64));    // st2b {z0.b, z1.b}, p1, [x2, #2, mul vl]
  EXPECT_EQ(range_of(0xe5636440), Range(20, 128));   // st4w {z0.s-z3.s}, p1, [x2, x3, lsl #2]
  EXPECT_TRUE(form_of(0xe401e440).writes_memory);
  EXPECT_FALSE(form_of(0xa401a440).writes_memory);
}

TEST(Arm64OutOfLine, SixtyFourByteSingleCopiesTouchSixtyFourBytesAtTheBase) {
  EXPECT_EQ(range_of(0xf83fd044), Range(0, 64));  // ld64b x4, [x2]
  EXPECT_EQ(range_of(0xf83f9040), Range(0, 64));  // st64b x0, [x2]
  EXPECT_EQ(range_of(0xf823b040), Range(0, 64));  // st64bv x3, x0, [x2]
  EXPECT_EQ(range_of(0xf823a040), Range(0, 64));  // st64bv0 x3, x0, [x2]
  OutOfLineForm form;
  // ld64b x0, [x4] and ld64b x0, [x2]: the base is one of the registers loaded.
  EXPECT_FALSE(out_of_line_form(0xf83fd040, form));
  EXPECT_FALSE(out_of_line_form(0xf83fd080, form));
  // st64bv x2, x0, [x2]: the status would overwrite the base.
  EXPECT_FALSE(out_of_line_form(0xf822b040, form));
}

TEST(Arm64OutOfLine, GathersScattersPrefetchesAndStackBasesAreNotTaken) {
  OutOfLineForm form;
  EXPECT_FALSE(out_of_line_form(0xc5e3c440, form));  // ld1d {z0.d}, p1/z, [x2, z3.d, lsl #3]
  EXPECT_FALSE(out_of_line_form(0xc5a1c460, form));  // ld1d {z0.d}, p1/z, [z3.d, #8]
  EXPECT_FALSE(out_of_line_form(0xe583a440, form));  // st1d {z0.d}, p1, [x2, z3.d]
  EXPECT_FALSE(out_of_line_form(0x85c00440, form));  // prfb pldl1keep, p1, [x2]
  EXPECT_FALSE(out_of_line_form(0xa401a7e0, form));  // ld1b {z0.b}, p1/z, [sp, #1, mul vl]
  EXPECT_FALSE(out_of_line_form(0xf9400020, form));  // ldr x0, [x1]: emulated, not out of line
  EXPECT_FALSE(out_of_line_form(0xd503201f, form));  // nop
}

TEST(Arm64OutOfLine, EveryWordTakenIsOneTheEmulatorLeavesAlone) {
  // Sample the encoding space: a word runs out of line only where the emulator says it does
  // not carry it out itself.
  uint32_t word = 0x12345678;
  unsigned taken = 0;
  for (int i = 0; i < 2'000'000; ++i) {
    word = word * 1664525u + 1013904223u;
    for (const uint32_t top : {0xa4000000u, 0x84000000u, 0xe4000000u, 0xf8200000u}) {
      const uint32_t candidate = top | (word & (top == 0xf8200000u ? 0x001fffffu : 0x01ffffffu));
      OutOfLineForm form;
      if (!out_of_line_form(candidate, form)) continue;
      ++taken;
      Access access;
      ASSERT_EQ(decode(candidate, access), DecodeStatus::Unsupported) << std::hex << candidate;
      ASSERT_NE(form.base_register, 31) << std::hex << candidate;
    }
  }
  EXPECT_GT(taken, 1000u);
}

TEST(Arm64OutOfLine, AVectorLengthIsNeededOnlyByFormsThatScaleWithIt) {
  Registers registers;
  Footprint footprint;
  EXPECT_FALSE(out_of_line_footprint(form_of(0xa401a440), registers.x, 0, footprint));
  ASSERT_TRUE(out_of_line_footprint(form_of(0xf83fd044), registers.x, 0, footprint));
  EXPECT_EQ(footprint.bytes, 64u);
  ASSERT_TRUE(out_of_line_footprint(form_of(0xa4012440), registers.x, 0, footprint));
  EXPECT_EQ(footprint.bytes, 16u);
}

}  // namespace
}  // namespace mmiotrace::arm64
