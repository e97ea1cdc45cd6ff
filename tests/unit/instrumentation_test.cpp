// Unit tests for the code cache's instrumentation: translated functions
// (tests/unit/translation_corpus.S) with a divert target reach the traced region only through
// its alias (the traced view is PROT_NONE: a missed redirect would crash), log every access
// with its address, value, width and original PC, and keep the program's registers, flags and
// red zone; accesses outside the region run as they are; a full log is flushed through the
// thunk without disturbing anything.
#include "codecache/instrumentation.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "codecache/access_log.hpp"
#include "codecache/block_translator.hpp"
#include "codecache/region_cache.hpp"

extern "C" {
uint64_t td_load_loop(const uint64_t* values, uint64_t count);
void td_store_loop(uint32_t* values, uint64_t count);
uint64_t td_widths(uint8_t* bytes);
uint64_t td_flags_live(uint64_t a, uint64_t b, const uint64_t* value);
uint64_t td_registers(uint64_t* value);
uint64_t td_red_zone(const uint64_t* value);
// tests/unit/vector_state.S
uint64_t vs_call_keeping_zmm(uint64_t (*fn)(const uint64_t*, uint64_t), const uint64_t* a,
                             uint64_t b, const void* in, void* out);
uint64_t vs_call_keeping_ymm(uint64_t (*fn)(const uint64_t*, uint64_t), const uint64_t* a,
                             uint64_t b, const void* in, void* out);
}

namespace mmiotrace::codecache {
namespace {

std::vector<AccessRecord> g_flushed;
int g_flushes = 0;

// The one region of these tests, as the engine would describe it to translated code.
struct TestRegion {
  uintptr_t low = 0;
  uint64_t size = 0;
  int64_t delta = 0;
};
TestRegion g_region;
int g_lookups = 0;

// Translated code calls it with only the general registers saved, as it calls the engine's:
// it must leave the others alone (region_cache.hpp).
#if MMIOTRACE_VECTOR_FREE_FLUSH
__attribute__((target("general-regs-only")))
#endif
void lookup_test_region(uintptr_t address, size_t width, RegionAnswer* out) {
  ++g_lookups;
  *out = RegionAnswer{};
  if (address >= g_region.low && address - g_region.low < g_region.size &&
      width <= g_region.low + g_region.size - address) {
    out->traced = true;
    out->low = g_region.low;
    out->size = g_region.size;
    out->delta = g_region.delta;
  } else if (address < g_region.low) {
    out->gap_low = 0;
    out->gap_high = g_region.low;
  } else if (address >= g_region.low + g_region.size) {
    out->gap_low = g_region.low + g_region.size;
    out->gap_high = ~uint64_t{0};
  }
}

void capture(const AccessRecord* records, size_t count, uint64_t /*time_ns*/) {
  g_flushed.insert(g_flushed.end(), records, records + count);
  ++g_flushes;
}

// Two views of one memfd: `traced` (PROT_NONE, as an armed mapping is) and its alias.
class InstrumentationTest : public ::testing::Test {
 protected:
  static constexpr size_t kSize = 2 * 4096;

  void SetUp() override {
    int fd = memfd_create("divert-test", 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, kSize), 0);
    traced_ = static_cast<uint8_t*>(mmap(nullptr, kSize, PROT_NONE, MAP_SHARED, fd, 0));
    alias_ = static_cast<uint8_t*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    close(fd);
    ASSERT_NE(traced_, MAP_FAILED);
    ASSERT_NE(alias_, MAP_FAILED);
    g_region = {reinterpret_cast<uintptr_t>(traced_), kSize, alias_ - traced_};
    set_region_lookup(lookup_test_region);
    publish_regions(g_region.low, g_region.low + g_region.size);
    g_lookups = 0;
    set_access_log_flush(capture);
    flush_access_log();
    g_flushed.clear();
    g_flushes = 0;
  }
  void TearDown() override {
    set_access_log_flush(nullptr);
    set_region_lookup(nullptr);
    publish_regions(0, 0);
    munmap(traced_, kSize);
    munmap(alias_, kSize);
  }

  template <typename Function>
  Function* diverted(Function* function, uint16_t expected_diverted) {
    const char* why = "";
    const BlockTranslation* block =
        translate_block(reinterpret_cast<uintptr_t>(function), &why, /*instrument=*/true);
    EXPECT_NE(block, nullptr) << why;
    if (block == nullptr) return function;
    EXPECT_EQ(block->diverted_count, expected_diverted);
    return reinterpret_cast<Function*>(block->code);
  }
  // Everything logged so far, the log flushed.
  std::vector<AccessRecord> records() {
    flush_access_log();
    return g_flushed;
  }

  uint8_t* traced_ = nullptr;
  uint8_t* alias_ = nullptr;
};

TEST_F(InstrumentationTest, LoadsGoThroughTheAliasAndAreLoggedInOrder) {
  auto* values = reinterpret_cast<uint64_t*>(alias_);
  for (int i = 0; i < 1000; ++i)
    values[i] = 3 * i + 1;
  auto* load_loop = diverted(td_load_loop, 1);
  const auto* traced = reinterpret_cast<const uint64_t*>(traced_);
  EXPECT_EQ(load_loop(traced, 1000), td_load_loop(values, 1000));
  std::vector<AccessRecord> log = records();
  ASSERT_EQ(log.size(), 1000u);
  EXPECT_GE(g_flushes, static_cast<int>(1000 / kAccessLogRecords + 1))
      << "full logs through the thunk, then the rest";
  auto pc = log[0].pc;
  EXPECT_GT(pc, reinterpret_cast<uintptr_t>(&td_load_loop));
  EXPECT_LT(pc, reinterpret_cast<uintptr_t>(&td_load_loop) + 16);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].address, reinterpret_cast<uintptr_t>(traced + i)) << i;
    EXPECT_EQ(log[i].value, 3 * i + 1) << i;
    EXPECT_EQ(log[i].info, 8u) << i;
    EXPECT_EQ(log[i].pc, pc) << i;
  }
}

TEST_F(InstrumentationTest, StoresWithIndexedAddressesReachTheAlias) {
  auto* store_loop = diverted(td_store_loop, 1);
  store_loop(reinterpret_cast<uint32_t*>(traced_), 2048);  // both pages, to the last byte
  auto* values = reinterpret_cast<uint32_t*>(alias_);
  for (uint32_t i = 0; i < 2048; ++i)
    ASSERT_EQ(values[i], 3 * i + 1) << i;
  std::vector<AccessRecord> log = records();
  ASSERT_EQ(log.size(), 2048u);
  EXPECT_EQ(log[5].info, 4u | kAccessWrite);
  EXPECT_EQ(log[5].value & 0xffffffff, 16u);
}

TEST_F(InstrumentationTest, EveryWidthAndExtensionIsCarriedOutAndLogged) {
  uint8_t plain[64];
  std::memset(plain, 0, sizeof(plain));
  const uint8_t input[8] = {0xf0, 0, 0x34, 0x92, 0x78, 0x56, 0x34, 0xf2};
  std::memcpy(plain, input, sizeof(input));
  std::memcpy(alias_, input, sizeof(input));
  auto* widths = diverted(td_widths, 12);
  uint64_t expected = td_widths(plain);
  g_flushed.clear();
  EXPECT_EQ(widths(traced_), expected);
  EXPECT_EQ(std::memcmp(alias_, plain, 40), 0) << "the same bytes written";
  std::vector<AccessRecord> log = records();
  ASSERT_EQ(log.size(), 12u);
  const uint64_t infos[12] = {1,
                              2,
                              4,
                              1 | kAccessWrite,
                              2 | kAccessWrite,
                              4 | kAccessWrite,
                              8 | kAccessWrite,
                              1 | kAccessWrite,
                              2 | kAccessWrite,
                              4 | kAccessWrite,
                              8 | kAccessWrite,
                              8};
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(log[i].info, infos[i]) << i;
  auto low_bytes = [](uint64_t value, uint64_t width) {
    return width == 8 ? value : value & ((uint64_t{1} << (8 * width)) - 1);
  };
  EXPECT_EQ(low_bytes(log[0].value, 1), 0xf0u);
  EXPECT_EQ(low_bytes(log[1].value, 2), 0x9234u);
  EXPECT_EQ(low_bytes(log[2].value, 4), 0xf2345678u);
  EXPECT_EQ(low_bytes(log[3].value, 1), 0x5au);
  EXPECT_EQ(low_bytes(log[5].value, 4), 0x89abcdefu);
  EXPECT_EQ(log[6].value, static_cast<uint64_t>(-2));
  EXPECT_EQ(log[11].value, static_cast<uint64_t>(-2));
  EXPECT_EQ(log[4].address, reinterpret_cast<uintptr_t>(traced_) + 10);
}

TEST_F(InstrumentationTest, LiveFlagsSurviveTheCheck) {
  std::memcpy(alias_, "\x07\0\0\0\0\0\0\0", 8);
  auto* flags_live = diverted(td_flags_live, 1);
  const auto* traced = reinterpret_cast<const uint64_t*>(traced_);
  EXPECT_EQ(flags_live(1, 2, traced), 7u);     // CF set by the compare, then taken
  EXPECT_EQ(flags_live(2, 1, traced), 1007u);  // CF clear
  uint64_t plain = 7;
  EXPECT_EQ(flags_live(1, 2, &plain), 7u) << "a miss keeps them too";
  EXPECT_EQ(flags_live(2, 1, &plain), 1007u);
}

TEST_F(InstrumentationTest, RegistersAreKeptWhateverTheScratchRegistersAre) {
  std::memcpy(alias_, "\x42\x42\0\0\0\0\0\0", 8);
  auto* registers = diverted(td_registers, 2);
  EXPECT_EQ(registers(reinterpret_cast<uint64_t*>(traced_)), 0u);
  uint64_t stored;
  std::memcpy(&stored, alias_ + 8, 8);
  EXPECT_EQ(stored, 0x1009u);
  uint64_t plain[2] = {0x4242, 0};
  EXPECT_EQ(registers(plain), 0u);
}

TEST_F(InstrumentationTest, TheRedZoneIsNeverTouched) {
  std::memcpy(alias_, "\x05\0\0\0\0\0\0\0", 8);
  auto* red_zone = diverted(td_red_zone, 1);
  EXPECT_EQ(red_zone(reinterpret_cast<const uint64_t*>(traced_)), 0x3338u);
}

TEST_F(InstrumentationTest, AccessesOutsideTheRegionRunAsTheyAreAndAreNotLogged) {
  std::vector<uint64_t> plain(100, 2);
  auto* load_loop = diverted(td_load_loop, 1);
  EXPECT_EQ(load_loop(plain.data(), 100), 200u);
  EXPECT_TRUE(records().empty());
  // The last bytes of the region are in it.
  uint64_t last;
  std::memcpy(alias_ + kSize - 8, "\x09\0\0\0\0\0\0\0", 8);
  last = load_loop(reinterpret_cast<const uint64_t*>(traced_ + kSize - 8), 1);
  EXPECT_EQ(last, 9u);
  EXPECT_EQ(records().size(), 1u);
}

// What vector_state.S sets before the call and reads after it.
struct VectorState {
  uint8_t vectors[32][64];
  uint64_t masks[8];
  uint8_t x87[8][16];  // 80-bit values, st(0) first
  uint32_t mxcsr;
  uint16_t x87_control;
  uint8_t padding[10];
};
static_assert(offsetof(VectorState, masks) == 2048 && offsetof(VectorState, x87) == 2112 &&
              offsetof(VectorState, mxcsr) == 2240 && offsetof(VectorState, x87_control) == 2244);

// Every record a flush was given, in the order given: the vector-free flush's, then the rest.
AccessRecord g_reported[4096];
size_t g_reported_count = 0;
size_t g_vector_free_count = 0;
bool g_vector_free_takes_half = false;

// A vector-free flush (as kmmio's is): general registers only, no library call.
[[gnu::target("general-regs-only")]] size_t capture_vector_free(const AccessRecord* records,
                                                                size_t count, uint64_t) {
  size_t take = g_vector_free_takes_half ? count / 2 : count;
  for (size_t i = 0; i < take && g_reported_count < 4096; ++i) {
    g_reported[g_reported_count].address = records[i].address;
    g_reported[g_reported_count].value = records[i].value;
    g_reported[g_reported_count].pc = records[i].pc;
    g_reported[g_reported_count].info = records[i].info;
    ++g_reported_count;
  }
  g_vector_free_count += take;
  return take;
}

void capture_rest(const AccessRecord* records, size_t count, uint64_t) {
  for (size_t i = 0; i < count && g_reported_count < 4096; ++i) {
    g_reported[g_reported_count++] = records[i];
  }
}

// The flush thunk keeps the vector, mask and x87 registers, MXCSR and the x87 control word,
// whether the vector-free flush does everything (no extended state saved) or leaves some
// records to the full flush (saved with XSAVE).
class VectorStateTest : public InstrumentationTest, public ::testing::WithParamInterface<bool> {};

TEST_P(VectorStateTest, FlushesKeepEveryVectorMaskAndX87Register) {
  g_vector_free_takes_half = GetParam();
  g_reported_count = 0;
  g_vector_free_count = 0;
  set_access_log_flush(capture_rest);
  set_access_log_flush_vector_free(capture_vector_free);
  auto* values = reinterpret_cast<uint64_t*>(alias_);
  for (uint64_t i = 0; i < 1000; ++i)
    values[i] = i * 0x0101010101010101;
  auto* load_loop = diverted(td_load_loop, 1);

  VectorState in = {}, out = {};
  for (size_t i = 0; i < sizeof(in.vectors); ++i) {
    (&in.vectors[0][0])[i] = static_cast<uint8_t>(i * 7 + 3);
  }
  for (uint64_t i = 0; i < 8; ++i)
    in.masks[i] = 0x1111111111111111 * (i + 1);
  for (int i = 0; i < 8; ++i) {
    long double value = 1.25L * (i + 1) / 3;  // a value with all 64 mantissa bits in use
    std::memcpy(in.x87[i], &value, 10);
  }
  in.mxcsr = 0x3f80;        // round down, exceptions masked
  in.x87_control = 0x077f;  // round down
  bool zmm = __builtin_cpu_supports("avx512f");
  auto call = zmm ? vs_call_keeping_zmm : vs_call_keeping_ymm;
  const auto* traced = reinterpret_cast<const uint64_t*>(traced_);
  uint64_t sum = call(load_loop, traced, 1000, &in, &out);
  set_access_log_flush_vector_free(nullptr);

  EXPECT_EQ(sum, td_load_loop(values, 1000));
  size_t vectors = zmm ? 32 : 16, bytes = zmm ? 64 : 32;
  for (size_t r = 0; r < vectors; ++r) {
    EXPECT_EQ(std::memcmp(in.vectors[r], out.vectors[r], bytes), 0) << (zmm ? "zmm" : "ymm") << r;
  }
  if (zmm) {
    for (int k = 0; k < 8; ++k)
      EXPECT_EQ(in.masks[k], out.masks[k]) << "k" << k;
  }
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(std::memcmp(in.x87[i], out.x87[i], 10), 0) << "st" << i;
  EXPECT_EQ(out.mxcsr & ~0x3fu, in.mxcsr) << "MXCSR, exception flags aside";
  EXPECT_EQ(out.x87_control, in.x87_control);

  ASSERT_EQ(g_reported_count, 1000u) << "every access, once";
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(g_reported[i].address, reinterpret_cast<uintptr_t>(traced + i)) << i;
    ASSERT_EQ(g_reported[i].value, values[i]) << i;
  }
  if (MMIOTRACE_VECTOR_FREE_FLUSH) {
    EXPECT_EQ(g_vector_free_count == 1000, !GetParam()) << g_vector_free_count;
    EXPECT_GT(g_vector_free_count, 0u);
  } else {
    EXPECT_EQ(g_vector_free_count, 0u) << "this build has no vector-free flush";
  }
}

INSTANTIATE_TEST_SUITE_P(InstrumentationTest, VectorStateTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? std::string("PartlyByTheVectorFreeFlush")
                                              : std::string("AllByTheVectorFreeFlush");
                         });

TEST(Instrumentation, EveryPlainAccessIsInstrumentedAndTheRestLeftToTheEmulator) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  auto divertible = [&](std::vector<uint8_t> bytes) {
    ZydisDecodedInstruction instruction;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    EXPECT_TRUE(ZYAN_SUCCESS(
        ZydisDecoderDecodeFull(&decoder, bytes.data(), bytes.size(), &instruction, operands)));
    return can_divert(instruction, operands);
  };
  // In place on the alias: the MOV family.
  EXPECT_TRUE(divertible({0x48, 0x8b, 0x07}));        // mov (%rdi),%rax
  EXPECT_TRUE(divertible({0x89, 0x14, 0x8f}));        // mov %edx,(%rdi,%rcx,4)
  EXPECT_TRUE(divertible({0x0f, 0xb6, 0x07}));        // movzbl (%rdi),%eax
  EXPECT_TRUE(divertible({0xc6, 0x47, 0x08, 0x5a}));  // movb $0x5a,8(%rdi)
  // Through the bounce buffer: ALU, compares, byte swaps, SSE and AVX.
  EXPECT_TRUE(divertible({0x48, 0x03, 0x07}));        // add (%rdi),%rax
  EXPECT_TRUE(divertible({0x80, 0x7e, 0x01, 0x09}));  // cmpb $0x9,0x1(%rsi)
  EXPECT_TRUE(divertible({0x48, 0xff, 0x07}));        // incq (%rdi)
  EXPECT_TRUE(divertible({0x0f, 0x38, 0xf0, 0x07}));  // movbe (%rdi),%eax
  EXPECT_TRUE(divertible({0xf3, 0x0f, 0x6f, 0x07}));  // movdqu (%rdi),%xmm0
  EXPECT_TRUE(divertible({0xc5, 0xfe, 0x6f, 0x07}));  // vmovdqu (%rdi),%ymm0
  EXPECT_TRUE(divertible({0xc5, 0xed, 0x74, 0x17}));  // vpcmpeqb (%rdi),%ymm2,%ymm2
  EXPECT_TRUE(divertible({0x0f, 0x95, 0x07}));        // setne (%rdi)
  EXPECT_TRUE(divertible({0x48, 0x0f, 0x44, 0x07}));  // cmove (%rdi),%rax
  // Element by element: REP STOS and REP MOVS.
  EXPECT_TRUE(divertible({0xf3, 0xa4}));        // rep movsb
  EXPECT_TRUE(divertible({0xf3, 0x48, 0xab}));  // rep stosq
  // Left to the emulator.
  EXPECT_FALSE(divertible({0x48, 0x8b, 0x04, 0x24}));        // mov (%rsp),%rax
  EXPECT_FALSE(divertible({0x48, 0x89, 0x27}));              // mov %rsp,(%rdi)
  EXPECT_FALSE(divertible({0x48, 0x8b, 0x05, 0, 0, 0, 0}));  // mov 0(%rip),%rax
  EXPECT_FALSE(divertible({0x64, 0x48, 0x8b, 0x07}));        // mov %fs:(%rdi),%rax
  EXPECT_FALSE(divertible({0x8a, 0x27}));                    // mov (%rdi),%ah
  EXPECT_FALSE(divertible({0xf0, 0x48, 0x01, 0x07}));        // lock add %rax,(%rdi)
  EXPECT_FALSE(divertible({0x48, 0x87, 0x07}));              // xchg %rax,(%rdi)
  EXPECT_FALSE(divertible({0x48, 0x0f, 0xc1, 0x07}));        // xadd %rax,(%rdi)
  EXPECT_FALSE(divertible({0xf3, 0xac}));                    // rep lodsb
  EXPECT_FALSE(divertible({0xa4}));                          // movsb, once
  EXPECT_FALSE(divertible({0xf3, 0x64, 0xa4}));              // rep movsb %fs:(%rsi)
  EXPECT_FALSE(divertible({0xff, 0x37}));                    // push (%rdi)
  EXPECT_FALSE(divertible({0xff, 0x17}));                    // call *(%rdi)
  EXPECT_FALSE(divertible({0x48, 0xf7, 0x37}));              // divq (%rdi)
  EXPECT_FALSE(divertible({0x48, 0x0f, 0xa3, 0x07}));        // bt %rax,(%rdi)
  EXPECT_FALSE(divertible({0x66, 0x0f, 0xe7, 0x07}));        // movntdq %xmm0,(%rdi)
  EXPECT_FALSE(divertible({0x0f, 0x18, 0x0f}));              // prefetcht0 (%rdi)
  EXPECT_FALSE(divertible({0x8e, 0x07}));                    // mov (%rdi),%es
  EXPECT_FALSE(divertible({0x48, 0x89, 0xd8}));              // mov %rbx,%rax
  EXPECT_FALSE(divertible({0x48, 0x8d, 0x07}));              // lea (%rdi),%rax
}

}  // namespace
}  // namespace mmiotrace::codecache
