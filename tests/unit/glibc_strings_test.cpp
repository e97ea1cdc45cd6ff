// Real code on traced memory: glibc's memcpy, memmove, memset, memcmp and strlen must give the
// same results on traced and untraced buffers. CTest runs this three times: with the CPU's own
// glibc variants, with the AVX2 ones, and with the SSE2 ones (GLIBC_TUNABLES; see
// tests/unit/CMakeLists.txt), named by MMIOTRACE_GLIBC_VARIANT.
//
// Coverage: every size from 0 to 4096 (with destination and source misaligned by 1 and 3), and
// every alignment from 0 to 63 at 34 sizes around the vector and page widths (with the source
// at another alignment). Every access is a signal here, so the cross product of all sizes and
// all alignments would take hours; these two cover each size and each alignment.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "mmiotrace/mmiotrace.hpp"
#include "test_support.hpp"

namespace mmiotrace::testing {
namespace {

constexpr size_t kMaxSize = 4096;
constexpr size_t kSpan = kMaxSize + 128;  // a buffer with room for any alignment

std::atomic<uint32_t> g_widest{0};
void note_width(mmiotrace_probe*, const mmiotrace_access* access, void*) {
  uint32_t width = access->width;
  uint32_t widest = g_widest.load();
  while (width > widest && !g_widest.compare_exchange_weak(widest, width)) {
  }
}

struct Placement {
  size_t size;
  size_t destination_alignment;
  size_t source_alignment;
};

std::vector<Placement> placements() {
  std::vector<Placement> all;
  for (size_t size = 0; size <= kMaxSize; ++size)
    all.push_back({size, 1, 3});
  for (size_t size : {0,   1,    2,    3,    4,    7,    8,    15,   16,   17,  31,  32,
                      33,  63,   64,   65,   127,  128,  129,  255,  256,  257, 511, 512,
                      513, 1023, 1024, 1025, 2047, 2048, 2049, 4094, 4095, 4096}) {
    for (size_t alignment = 0; alignment < 64; ++alignment) {
      all.push_back({size, alignment, (alignment * 7 + 5) % 64});
    }
  }
  return all;
}

class GlibcStringsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(traced_.base(), nullptr);
    ASSERT_NE(plain_.base(), nullptr);
    // A second view of the traced memory, for the test's own filling and checking.
    void* view = mremap(traced_.base(), 0, traced_.size(), MREMAP_MAYMOVE);
    ASSERT_NE(view, MAP_FAILED);
    backdoor_ = static_cast<uint8_t*>(view);
    ASSERT_FALSE(set_strategy(Strategy::Emulate));
    probe_ = {traced_.address(), traced_.size(), nullptr, &note_width, nullptr, 0};
    ASSERT_EQ(mmiotrace_register_probe(&probe_), 0);
    g_widest = 0;
    before_ = stats();
  }
  void TearDown() override {
    mmiotrace_unregister_probe(&probe_);
    munmap(backdoor_, traced_.size());
    mmiotrace_stats after = stats();
    EXPECT_EQ(after.single_stepped, before_.single_stepped);
    EXPECT_GT(after.emulated, before_.emulated);
    const char* variant = getenv("MMIOTRACE_GLIBC_VARIANT");
    std::string name = variant ? variant : "native";
    // The variant really is the one asked for: the SSE2 one never touches more than 16 bytes at
    // once, the AVX2 one does 32.
    if (name == "sse2") {
      EXPECT_LE(g_widest.load(), 16u);
    }
    if (name == "avx2" && __builtin_cpu_supports("avx2")) {
      EXPECT_EQ(g_widest.load(), 32u);
    }
    RecordProperty("variant", name);
    RecordProperty("widest_access", static_cast<int>(g_widest.load()));
  }

  // Fills both mappings with the same pseudo-random bytes (none zero).
  void fill(uint32_t seed) {
    for (size_t i = 0; i < traced_.size(); ++i) {
      plain_.base()[i] = static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 7)) % 251 + 1);
    }
    std::memcpy(backdoor_, plain_.base(), traced_.size());
  }
  // The first buffer (destination) and the second (source) of each mapping.
  uint8_t* traced_destination(const Placement& p) {
    return traced_.base() + p.destination_alignment;
  }
  uint8_t* traced_source(const Placement& p) {
    return traced_.base() + 2 * kSpan + p.source_alignment;
  }
  uint8_t* plain_destination(const Placement& p) { return plain_.base() + p.destination_alignment; }
  uint8_t* plain_source(const Placement& p) {
    return plain_.base() + 2 * kSpan + p.source_alignment;
  }

  bool same_memory() { return std::memcmp(backdoor_, plain_.base(), traced_.size()) == 0; }
  // A byte of the traced memory, through the backdoor (untraced).
  uint8_t& backdoor(const uint8_t* traced) { return backdoor_[traced - traced_.base()]; }

  static std::string where(const Placement& p) {
    return "size " + std::to_string(p.size) + ", destination alignment " +
           std::to_string(p.destination_alignment) + ", source alignment " +
           std::to_string(p.source_alignment);
  }

  TestMemory traced_{(4 * kSpan + 4095) / 4096};
  TestMemory plain_{(4 * kSpan + 4095) / 4096};
  uint8_t* backdoor_ = nullptr;
  mmiotrace_probe probe_ = {};
  mmiotrace_stats before_ = {};
};

TEST_F(GlibcStringsTest, Memcpy) {
  for (const Placement& p : placements()) {
    fill(static_cast<uint32_t>(p.size));
    memcpy(plain_destination(p), plain_source(p), p.size);
    memcpy(traced_destination(p), traced_source(p), p.size);
    ASSERT_TRUE(same_memory()) << where(p);
  }
}

TEST_F(GlibcStringsTest, Memmove) {
  for (const Placement& p : placements()) {
    fill(static_cast<uint32_t>(p.size));
    // Overlapping, both directions.
    size_t shift = 1 + p.source_alignment % 48;
    memmove(plain_destination(p) + shift, plain_destination(p), p.size);
    memmove(traced_destination(p) + shift, traced_destination(p), p.size);
    memmove(plain_source(p), plain_source(p) + shift, p.size);
    memmove(traced_source(p), traced_source(p) + shift, p.size);
    ASSERT_TRUE(same_memory()) << where(p);
  }
}

TEST_F(GlibcStringsTest, Memset) {
  for (const Placement& p : placements()) {
    fill(static_cast<uint32_t>(p.size));
    int value = static_cast<int>(p.size * 37 % 256);
    memset(plain_destination(p), value, p.size);
    memset(traced_destination(p), value, p.size);
    ASSERT_TRUE(same_memory()) << where(p);
  }
}

int sign(int value) {
  return (value > 0) - (value < 0);
}

// memcmp and strlen read the traced buffer against an untraced one.
TEST_F(GlibcStringsTest, Memcmp) {
  for (const Placement& p : placements()) {
    fill(static_cast<uint32_t>(p.size));
    // Equal buffers (the whole length is read), then a difference in the last byte.
    std::memcpy(plain_source(p), plain_destination(p), p.size);
    int equal_plain = memcmp(plain_destination(p), plain_source(p), p.size);
    int equal_traced = memcmp(traced_destination(p), plain_source(p), p.size);
    ASSERT_EQ(sign(equal_traced), sign(equal_plain)) << where(p);
    if (p.size == 0) continue;
    plain_source(p)[p.size - 1] ^= 0x80;
    int differ_plain = memcmp(plain_destination(p), plain_source(p), p.size);
    int differ_traced = memcmp(traced_destination(p), plain_source(p), p.size);
    ASSERT_EQ(sign(differ_traced), sign(differ_plain)) << where(p);
    ASSERT_NE(differ_plain, 0);
  }
}

TEST_F(GlibcStringsTest, Strlen) {
  for (const Placement& p : placements()) {
    fill(static_cast<uint32_t>(p.size));
    plain_destination(p)[p.size] = 0;
    backdoor(traced_destination(p) + p.size) = 0;
    ASSERT_EQ(strlen(reinterpret_cast<char*>(traced_destination(p))),
              strlen(reinterpret_cast<char*>(plain_destination(p))))
        << where(p);
    ASSERT_EQ(strlen(reinterpret_cast<char*>(traced_destination(p))), p.size) << where(p);
  }
}

}  // namespace
}  // namespace mmiotrace::testing
