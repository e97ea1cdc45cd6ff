// Unit tests for arm64/out_of_line: which A64 words run out of line and the range each may
// touch. The words are binutils' encodings of the instruction in each comment
// (aarch64-linux-gnu-as -march=armv8.7-a+sve+f64mm+ls64).
#include "arm64/out_of_line.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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
  EXPECT_TRUE(out_of_line_footprint(form, registers.x, kVectorBytes, nullptr, footprint));
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
  EXPECT_FALSE(out_of_line_footprint(form_of(0xa401a440), registers.x, 0, nullptr, footprint));
  ASSERT_TRUE(out_of_line_footprint(form_of(0xf83fd044), registers.x, 0, nullptr, footprint));
  EXPECT_EQ(footprint.bytes, 64u);
  ASSERT_TRUE(out_of_line_footprint(form_of(0xa4012440), registers.x, 0, nullptr, footprint));
  EXPECT_EQ(footprint.bytes, 16u);
}

// The registers after an instruction ran, with a 256-bit vector length: Zn's byte b is
// n * 16 + b (mod 256), every predicate all false, FFR all true, Xn = n * 0x0101010101010101.
struct After {
  uint64_t x[31];
  uint8_t z[32][kVectorBytes];
  uint8_t p[16][kVectorBytes / 8] = {};
  uint8_t ffr[kVectorBytes / 8];
  After() {
    for (unsigned n = 0; n < 31; ++n)
      x[n] = n * 0x0101010101010101ull;
    for (unsigned n = 0; n < 32; ++n)
      for (unsigned b = 0; b < kVectorBytes; ++b)
        z[n][b] = static_cast<uint8_t>(n * 16 + b);
    std::memset(ffr, 0xff, sizeof ffr);
  }
  // Sets element `i` of `esize` bytes active in P`n`.
  void activate(unsigned n, unsigned i, unsigned esize) {
    p[n][i * esize / 8] |= static_cast<uint8_t>(1u << (i * esize % 8));
  }
  OutOfLineRegisters registers() const {
    OutOfLineRegisters out;
    out.x = x;
    out.z = &z[0][0];
    out.p = &p[0][0];
    out.ffr = ffr;
    out.vector_bytes = kVectorBytes;
    return out;
  }
};

struct Made {
  bool write;
  uint64_t address;
  unsigned width;
  uint64_t value;
  bool operator==(const Made&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Made& made) {
  return out << (made.write ? "W " : "R ") << made.width << " 0x" << std::hex << made.address
             << " 0x" << made.value << std::dec;
}

class Collected final : public OutOfLineAccessSink {
 public:
  void access(bool write, uint64_t address, unsigned width, const uint8_t* value) override {
    uint64_t bytes = 0;
    std::memcpy(&bytes, value, width);
    made.push_back({write, address, width, bytes});
  }
  std::vector<Made> made;
};

std::vector<Made> accesses_of(uint32_t word, const After& after, uint64_t address = 0x1000) {
  Collected collected;
  EXPECT_TRUE(out_of_line_accesses(form_of(word), address, after.registers(), collected));
  return collected.made;
}

TEST(Arm64OutOfLine, AContiguousStoreWritesItsActiveElementsFromItsRegister) {
  After after;
  after.activate(1, 0, 1);
  after.activate(1, 1, 1);
  after.activate(1, 5, 1);
  // st1b {z0.b}, p1, [x2, #1, mul vl]
  EXPECT_EQ(accesses_of(0xe401e440, after),
            (std::vector<Made>{
                {true, 0x1000, 1, 0x00}, {true, 0x1001, 1, 0x01}, {true, 0x1005, 1, 0x05}}));
}

TEST(Arm64OutOfLine, AnExtendingLoadReadsMemoryElementsSpreadInItsRegister) {
  After after;
  after.activate(1, 0, 8);
  after.activate(1, 3, 8);
  // ld1b {z0.d}, p1/z, [x2, #-8, mul vl]: one byte per 8-byte element.
  EXPECT_EQ(accesses_of(0xa468a440, after),
            (std::vector<Made>{{false, 0x1000, 1, 0x00}, {false, 0x1003, 1, 24}}));
  // ld1w {z0.s}, p1/z, [x2, x3, lsl #2]: words.
  After words;
  words.activate(1, 1, 4);
  EXPECT_EQ(accesses_of(0xa5434440, words), (std::vector<Made>{{false, 0x1004, 4, 0x07060504}}));
}

TEST(Arm64OutOfLine, StructuresAreElementMajor) {
  After after;
  after.activate(1, 0, 1);
  after.activate(1, 2, 1);
  // ld2b {z0.b, z1.b}, p1/z, [x2, #2, mul vl]
  EXPECT_EQ(accesses_of(0xa421e440, after), (std::vector<Made>{{false, 0x1000, 1, 0x00},
                                                               {false, 0x1001, 1, 0x10},
                                                               {false, 0x1004, 1, 0x02},
                                                               {false, 0x1005, 1, 0x12}}));
}

TEST(Arm64OutOfLine, FirstFaultLoadsRecordOnlyWhatFfrSaysWasLoaded) {
  After after;
  for (unsigned i = 0; i < 4; ++i)
    after.activate(1, i, 1);
  after.ffr[0] = 0x03;  // elements 2 and 3 were not loaded
  // ldff1b {z0.b}, p1/z, [x2, x3]
  EXPECT_EQ(accesses_of(0xa4036440, after),
            (std::vector<Made>{{false, 0x1000, 1, 0x00}, {false, 0x1001, 1, 0x01}}));
}

TEST(Arm64OutOfLine, FillsAndSpillsMoveTheWholeRegisterInPiecesOfUpToEightBytes) {
  After after;
  // ldr z0, [x2, #-256, mul vl]: 32 bytes.
  std::vector<Made> fill = accesses_of(0x85a04040, after);
  ASSERT_EQ(fill.size(), 4u);
  EXPECT_EQ(fill[0], (Made{false, 0x1000, 8, 0x0706050403020100}));
  EXPECT_EQ(fill[3], (Made{false, 0x1018, 8, 0x1f1e1d1c1b1a1918}));
  // str p0, [x2, #-1, mul vl]: 4 bytes of P0.
  after.p[0][0] = 0x11;
  after.p[0][3] = 0x44;
  EXPECT_EQ(accesses_of(0xe5bf1c40, after), (std::vector<Made>{{true, 0x1000, 4, 0x44000011}}));
  // A 384-bit vector length: a predicate of 6 bytes is 4 then 2.
  Collected collected;
  OutOfLineRegisters registers = after.registers();
  registers.vector_bytes = 48;
  ASSERT_TRUE(out_of_line_accesses(form_of(0x859f1c40), 0x2000, registers, collected));
  EXPECT_EQ(collected.made.size(), 2u);
  EXPECT_EQ(collected.made[1].address, 0x2004u);
  EXPECT_EQ(collected.made[1].width, 2u);
}

TEST(Arm64OutOfLine, ReplicatingAndBroadcastingLoadsReadOnce) {
  After after;
  after.activate(1, 1, 8);
  // ld1rqd {z0.d}, p1/z, [x2, x3, lsl #3]: element 1 of the quadword.
  EXPECT_EQ(accesses_of(0xa5830440, after),
            (std::vector<Made>{{false, 0x1008, 8, 0x0f0e0d0c0b0a0908}}));
  // ld1rd {z0.d}, p1/z, [x2, #504]: the element, read once, from its first active lane.
  EXPECT_EQ(accesses_of(0x85ffe440, after),
            (std::vector<Made>{{false, 0x1000, 8, 0x0f0e0d0c0b0a0908}}));
  After none;
  EXPECT_TRUE(accesses_of(0x85ffe440, none).empty());
}

TEST(Arm64OutOfLine, TheRangeRunsFromTheFirstActiveElementToTheLast) {
  After after;
  for (unsigned i = 2; i <= 5; ++i)
    after.activate(1, i, 1);
  Registers registers;
  Footprint footprint;
  // ld1b {z0.b}, p1/z, [x2, #1, mul vl]: elements 2-5 of the vector at 0x10000 + 32.
  ASSERT_TRUE(out_of_line_footprint(form_of(0xa401a440), registers.x, kVectorBytes, &after.p[0][0],
                                    footprint));
  EXPECT_EQ(footprint.base, 0x10020u);
  EXPECT_EQ(footprint.address, 0x10022u);
  EXPECT_EQ(footprint.bytes, 4u);
  // ld2b {z0.b, z1.b}, p1/z, [x2, #2, mul vl]: structures 2-5 of two bytes each.
  ASSERT_TRUE(out_of_line_footprint(form_of(0xa421e440), registers.x, kVectorBytes, &after.p[0][0],
                                    footprint));
  EXPECT_EQ(footprint.base, 0x10040u);
  EXPECT_EQ(footprint.address, 0x10044u);
  EXPECT_EQ(footprint.bytes, 8u);
  // ldr z0, [x2, #-256, mul vl] is not predicated: the whole vector.
  ASSERT_TRUE(out_of_line_footprint(form_of(0x85a04040), registers.x, kVectorBytes, &after.p[0][0],
                                    footprint));
  EXPECT_EQ(footprint.bytes, kVectorBytes);
}

TEST(Arm64OutOfLine, SixtyFourByteAccessesMoveEightRegisters) {
  After after;
  // ld64b x4, [x2]
  std::vector<Made> made = accesses_of(0xf83fd044, after);
  ASSERT_EQ(made.size(), 8u);
  EXPECT_EQ(made[0], (Made{false, 0x1000, 8, 4 * 0x0101010101010101ull}));
  EXPECT_EQ(made[7], (Made{false, 0x1038, 8, 11 * 0x0101010101010101ull}));
  // Without the SVE registers, the SVE forms give nothing.
  Collected collected;
  OutOfLineRegisters registers = after.registers();
  registers.z = nullptr;
  EXPECT_FALSE(out_of_line_accesses(form_of(0xa401a440), 0x1000, registers, collected));
  EXPECT_TRUE(collected.made.empty());
}

}  // namespace
}  // namespace mmiotrace::arm64
