// Differential test of the emulator: every snippet of instruction_corpus.S runs on untraced
// memory and then, from the same state, on traced memory, for many operand placements and
// random register, flag, vector and memory contents. Registers, flags, vector registers and
// memory must match byte for byte, and no instruction may need single-stepping.
// To debug one snippet: CORPUS_ONLY=<part of its text>; CORPUS_VERBOSE=1 prints progress.
#include <cpuid.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kmmio/code_cache.hpp"
#include "kmmio/engine_stats.hpp"
#include "mmiotrace/mmiotrace.hpp"
#include "test_support.hpp"

namespace {

struct SnippetState {
  uint64_t gpr[16];
  uint64_t rflags;
  uint8_t ymm[16][32];
  uint64_t k1;
};
static_assert(offsetof(SnippetState, rflags) == 128);
static_assert(offsetof(SnippetState, ymm) == 136);
static_assert(offsetof(SnippetState, k1) == 648);

struct CorpusEntry {
  const char* name;
  void (*snippet)();
  uint64_t flags;
};

enum : uint64_t {
  kAlign16 = 1,
  kNeedsAvx2 = 2,
  kNeedsAvx512 = 4,
  kNeedsMovdir = 8,
  kAlign32 = 16,
  kAlign64 = 32,
  kCount = 64,
};

}  // namespace

extern "C" {
extern const CorpusEntry instruction_corpus[];
extern uint8_t use_mask_register;
void run_snippet(SnippetState* state, void (*snippet)());
}

namespace mmiotrace::testing {
namespace {

constexpr size_t kPage = 4096;
// The test mapping: an untraced page, three traced pages, an untraced page, and an untraced
// source buffer for RSI.
constexpr size_t kTracedOffset = kPage;
constexpr size_t kTracedSize = 3 * kPage;
constexpr size_t kSourceOffset = 5 * kPage;
constexpr size_t kPages = 6;

bool cpu_has_movdir() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx & (1u << 27)) && (ecx & (1u << 28));
}

bool supported(uint64_t flags) {
  if ((flags & kNeedsAvx2) && !__builtin_cpu_supports("avx2")) return false;
  if ((flags & kNeedsAvx512) && !__builtin_cpu_supports("avx512bw")) return false;
  if ((flags & kNeedsMovdir) && !cpu_has_movdir()) return false;
  return true;
}

// Where RDI points, relative to the traced region: aligned, unaligned, straddling its pages,
// running out of it at the end, and running into it from below.
std::vector<int64_t> placements(uint64_t flags) {
  std::vector<int64_t> all = {0,     8,     64,    3,  17, 4093, 4095, 4090, 8190,
                              12284, 12287, 12280, -3, -1, 2000, 4064, 12256};
  size_t alignment = (flags & kAlign64)   ? 64
                     : (flags & kAlign32) ? 32
                     : (flags & kAlign16) ? 16
                                          : 1;
  std::vector<int64_t> chosen;
  for (int64_t placement : all) {
    if (placement % static_cast<int64_t>(alignment) == 0) chosen.push_back(placement);
  }
  return chosen;
}

// Notices from the engine (instructions it single-steps), kept for the failure message.
char g_notices[1 << 16];
std::atomic<size_t> g_notices_size{0};
void keep_notice(const char* text, size_t length, void*) {
  size_t at = g_notices_size.fetch_add(length);
  if (at + length < sizeof(g_notices)) std::memcpy(g_notices + at, text, length);
}

class EmulatorDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(memory_.base(), nullptr);
    ASSERT_FALSE(set_strategy(Strategy::Emulate));
    use_mask_register = __builtin_cpu_supports("avx512bw") ? 1 : 0;
    g_notices_size = 0;
    mmiotrace_set_notice_handler(&keep_notice, nullptr);
  }
  void TearDown() override { mmiotrace_set_notice_handler(nullptr, nullptr); }

  SnippetState random_state(std::mt19937_64& random, uint64_t flags, int64_t placement) {
    SnippetState state;
    for (uint64_t& reg : state.gpr)
      reg = random();
    for (auto& ymm : state.ymm) {
      for (uint8_t& byte : ymm)
        byte = static_cast<uint8_t>(random());
    }
    state.k1 = random();
    state.rflags = 0x202 | (random() & 0x8d5);
    state.gpr[7] = memory_.address(kTracedOffset) + static_cast<uint64_t>(placement);  // RDI
    state.gpr[6] = memory_.address(kSourceOffset) + 64 * (random() % 8);               // RSI
    state.gpr[2] = random() % 16;                                                      // RDX
    if (flags & kCount) state.gpr[1] = random() % 40;                                  // RCX
    return state;
  }

  std::vector<uint8_t> random_memory(std::mt19937_64& random) {
    std::vector<uint8_t> content(memory_.size());
    for (uint8_t& byte : content)
      byte = static_cast<uint8_t>(random());
    return content;
  }

  void run(const CorpusEntry& entry, SnippetState* state, const std::vector<uint8_t>& content,
           bool traced) {
    std::memcpy(memory_.base(), content.data(), content.size());
    mmiotrace_probe probe = {
        memory_.address(kTracedOffset), kTracedSize, nullptr, post_handler_, nullptr, 0};
    if (traced) {
      ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
    }
    run_snippet(state, entry.snippet);
    if (traced) {
      ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);
    }
  }

  TestMemory memory_{kPages};
  mmiotrace_handler post_handler_ = nullptr;

  void check_corpus();
};

void EmulatorDifferentialTest::check_corpus() {
  std::mt19937_64 random(20261125);
  size_t combinations = 0;
  size_t snippets = 0;
  mmiotrace_stats before = stats();
  for (const CorpusEntry* entry = instruction_corpus; entry->name != nullptr; ++entry) {
    if (!supported(entry->flags)) continue;
    if (const char* only = getenv("CORPUS_ONLY"); only && !strstr(entry->name, only)) continue;
    ++snippets;
    if (getenv("CORPUS_VERBOSE")) fprintf(stderr, "snippet %s\n", entry->name);
    for (int64_t placement : placements(entry->flags)) {
      if (getenv("CORPUS_VERBOSE"))
        fprintf(stderr, "  placement %ld\n", static_cast<long>(placement));
      for (int round = 0; round < 3; ++round) {
        SnippetState initial = random_state(random, entry->flags, placement);
        std::vector<uint8_t> content = random_memory(random);
        SnippetState untraced = initial;
        run(*entry, &untraced, content, /*traced=*/false);
        std::vector<uint8_t> untraced_memory(memory_.base(), memory_.base() + memory_.size());
        SnippetState traced = initial;
        run(*entry, &traced, content, /*traced=*/true);
        ++combinations;

        std::string where = std::string(entry->name) + " at traced+" + std::to_string(placement);
        static const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                         "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
        for (int reg = 0; reg < 16; ++reg) {
          ASSERT_EQ(traced.gpr[reg], untraced.gpr[reg]) << where << ": " << kNames[reg];
        }
        ASSERT_EQ(traced.rflags, untraced.rflags) << where << ": rflags";
        for (int reg = 0; reg < 16; ++reg) {
          ASSERT_EQ(std::memcmp(traced.ymm[reg], untraced.ymm[reg], 32), 0)
              << where << ": ymm" << reg;
        }
        ASSERT_EQ(traced.k1, untraced.k1) << where << ": k1";
        for (size_t i = 0; i < memory_.size(); ++i) {
          ASSERT_EQ(memory_.base()[i], untraced_memory[i]) << where << ": memory byte " << i;
        }
      }
    }
  }
  mmiotrace_stats after = stats();
  EXPECT_GT(snippets, 150u);
  EXPECT_GT(combinations, 3000u);
  EXPECT_GT(after.emulated, before.emulated);
  EXPECT_EQ(after.single_stepped, before.single_stepped)
      << "instructions were single-stepped:\n"
      << std::string(g_notices, std::min(g_notices_size.load(), sizeof(g_notices)));
  RecordProperty("combinations", static_cast<int>(combinations));
}

TEST_F(EmulatorDifferentialTest, TracedAndUntracedRunsAgreeByteForByte) {
  check_corpus();
}

// The same with the code cache: the MOV-family snippets run diverted (their instrumented copy,
// the access on the alias), the others emulated from inside the cache.
TEST_F(EmulatorDifferentialTest, DivertedRunsAgreeByteForByteToo) {
  uint64_t diverted = kmmio::engine_stats().diverted.load();
  mmiotrace_set_divert(1);
  check_corpus();
  mmiotrace_set_divert(0);
  // Each site is translated at its kTranslateAfterTraps-th trap; the traps before are emulated.
  EXPECT_GT(kmmio::engine_stats().diverted.load(), diverted + 900) << "snippets were diverted";
}

// What the code cache logs is what the emulator reports: for every snippet the cache
// instruments (the MOV family in place, everything else through its bounce buffer), the same
// accesses, in the same order, with the same kinds, addresses, widths and values.
struct Told {
  uint32_t kind;
  uintptr_t address;
  uint32_t width;
  uint8_t value[64];
  bool operator==(const Told& other) const {
    return kind == other.kind && address == other.address && width == other.width &&
           std::memcmp(value, other.value, width) == 0;
  }
};
std::vector<Told> g_told;
void tell(mmiotrace_probe*, const mmiotrace_access* access, void*) {
  Told told = {access->kind, access->address, access->width, {}};
  if (access->value_known) std::memcpy(told.value, access->value.bytes, access->width);
  g_told.push_back(told);
}

std::string describe(const std::vector<Told>& accesses) {
  std::string text;
  for (const Told& told : accesses) {
    char line[96];
    snprintf(line, sizeof(line),
             "\n  %s %u at +0x%lx:", told.kind == MMIOTRACE_ACCESS_READ ? "R" : "W", told.width,
             static_cast<unsigned long>(told.address & 0xfff));
    text += line;
    for (unsigned i = 0; i < told.width && i < 16; ++i) {
      snprintf(line, sizeof(line), " %02x", told.value[i]);
      text += line;
    }
  }
  return text;
}

TEST_F(EmulatorDifferentialTest, TheCodeCacheLogsWhatTheEmulatorReports) {
  post_handler_ = &tell;
  std::mt19937_64 random(20261207);
  const uint64_t diverted_before = kmmio::engine_stats().diverted.load();
  size_t compared = 0;
  for (const CorpusEntry* entry = instruction_corpus; entry->name != nullptr; ++entry) {
    if (!supported(entry->flags)) continue;
    if (const char* only = getenv("CORPUS_ONLY"); only && !strstr(entry->name, only)) continue;
    for (int64_t placement : placements(entry->flags)) {
      SnippetState initial = random_state(random, entry->flags, placement);
      std::vector<uint8_t> content = random_memory(random);
      SnippetState state = initial;
      g_told.clear();
      run(*entry, &state, content, /*traced=*/true);
      std::vector<Told> emulated = g_told;
      // The third run of the site: translated at its second trap at the latest.
      mmiotrace_set_divert(1);
      for (int run_number = 0; run_number < 3; ++run_number) {
        state = initial;
        g_told.clear();
        run(*entry, &state, content, /*traced=*/true);
      }
      mmiotrace_set_divert(0);
      std::string where = std::string(entry->name) + " at traced+" + std::to_string(placement);
      ASSERT_EQ(g_told.size(), emulated.size())
          << where << "\nemulated:" << describe(emulated) << "\ncode cache:" << describe(g_told);
      for (size_t i = 0; i < emulated.size(); ++i) {
        ASSERT_TRUE(g_told[i] == emulated[i])
            << where << ": access " << i << "\nemulated:" << describe(emulated)
            << "\ncode cache:" << describe(g_told);
      }
      ++compared;
    }
  }
  post_handler_ = nullptr;
  EXPECT_GT(compared, 300u);
  EXPECT_GT(kmmio::engine_stats().diverted.load(), diverted_before + 300)
      << "snippets ran in the code cache";
}

// The same with the probe's accesses reported in batches, as the recorder's are: the string
// instructions then write their runs of elements straight to the alias (direct_run()).
void batched_post_handler(mmiotrace_probe*, const mmiotrace_access*, void*) {}
std::atomic<uint64_t> g_batched_accesses{0};
size_t count_batch(mmiotrace_probe* probe, const AccessRecord* records, size_t count, uint64_t) {
  size_t taken = 0;  // the batch handler's share: the probe's plain accesses from the first on
  while (taken < count && records[taken].address - probe->addr < probe->len &&
         (records[taken].info & kAccessWidthMask) <= 8) {
    ++taken;
  }
  g_batched_accesses += taken;
  return taken;
}

TEST_F(EmulatorDifferentialTest, RunsReportedInBatchesAgreeByteForByteToo) {
  kmmio::set_access_batch_handler(&batched_post_handler, &count_batch);
  post_handler_ = &batched_post_handler;
  g_batched_accesses = 0;
  check_corpus();
  kmmio::set_access_batch_handler(nullptr, nullptr);
  EXPECT_GT(g_batched_accesses.load(), 10000u);
}

}  // namespace
}  // namespace mmiotrace::testing
