// Unit tests for the code cache's sites (codecache/translation_cache.hpp): a site is translated at
// its second trap (its first under the eager policy) and served from then on; a site that cannot
// be translated is refused once and never tried again; code outside a read-only file mapping is
// not translated; the memory of the code cache is bounded.
#include "codecache/translation_cache.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "codecache/policy.hpp"
#include "x86/code_arena.hpp"

extern "C" {
// tests/unit/translation_corpus.S: a MOV-family load in a loop, and a locked ADD.
extern const char td_load_loop_access[];
extern const char tc_sum_loop_access[];
extern const char tc_locked_add_access[];
}

namespace mmiotrace::codecache {
namespace {

uintptr_t address_of(const char* label) {
  return reinterpret_cast<uintptr_t>(label);
}

TEST(TranslationCache, ASiteIsTranslatedAtItsSecondTrapAndServedFromThen) {
  const uintptr_t site = address_of(td_load_loop_access);
  const SiteCounts before = site_counts();
  EXPECT_EQ(block_for_fault(site), nullptr) << "a site run once is not worth a translation";
  const BlockTranslation* block = block_for_fault(site);
  ASSERT_NE(block, nullptr);
  EXPECT_TRUE(block->diverts(site));
  EXPECT_NE(block->cache_pc(site), 0u);
  EXPECT_EQ(block_for_fault(site), block);
  EXPECT_EQ(site_counts().translated, before.translated + 1);
  // Found from its code, without a search.
  EXPECT_TRUE(in_code_cache(block->cache_pc(site)));
  EXPECT_EQ(original_pc_of(block->cache_pc(site)), site);
  EXPECT_FALSE(in_code_cache(site));
}

TEST(TranslationCache, UnderTheEagerPolicyASiteIsTranslatedAtItsFirstTrap) {
  const uintptr_t site = address_of(tc_sum_loop_access);  // add (%rdi),%rax
  const SiteCounts before = site_counts();
  set_code_cache_policy(CodeCachePolicy::Eager);
  const BlockTranslation* block = block_for_fault(site);
  set_code_cache_policy(CodeCachePolicy::Adaptive);
  ASSERT_NE(block, nullptr);
  EXPECT_TRUE(block->diverts(site));
  EXPECT_EQ(site_counts().translated, before.translated + 1);
}

TEST(TranslationCache, ASiteThatCannotBeTranslatedIsRefusedOnceAndNeverTriedAgain) {
  const uintptr_t site = address_of(tc_locked_add_access);  // lock add: left to the emulator
  const SiteCounts before = site_counts();
  for (int trap = 0; trap < 10; ++trap)
    EXPECT_EQ(block_for_fault(site), nullptr);
  EXPECT_EQ(site_counts().refused, before.refused + 1);
  EXPECT_EQ(site_counts().translated, before.translated);
}

TEST(TranslationCache, CodeOutsideAReadOnlyFileMappingIsNotTranslated) {
  auto* memory = static_cast<uint8_t*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(memory, MAP_FAILED);
  const uint8_t code[] = {0x48, 0x8b, 0x07, 0xc3};  // mov (%rdi),%rax; ret
  std::memcpy(memory, code, sizeof(code));
  const SiteCounts before = site_counts();
  for (int trap = 0; trap < 4; ++trap) {
    EXPECT_EQ(block_for_fault(reinterpret_cast<uintptr_t>(memory)), nullptr);
  }
  EXPECT_EQ(site_counts().refused, before.refused + 1);
  munmap(memory, 4096);
}

// Uses up the code cache's memory near here, in a child (the rest of this process needs it):
// exits with 0 when the memory is bounded and a request then fails at once, 1 otherwise.
void use_up_near_code() {
  static const int here = 0;
  const auto near = reinterpret_cast<uintptr_t>(&here);
  size_t allocations = 0;
  while (x86::allocate_code_near(near, size_t{256} << 10) != nullptr)
    ++allocations;
  const bool bounded = x86::near_code_bytes() <= x86::kMaxNearChunks * x86::kNearChunkSize;
  const bool still_none = x86::allocate_code_near(near, 64) == nullptr;
  _exit(allocations > 0 && bounded && still_none ? 0 : 1);
}

TEST(TranslationCache, NearCodeMemoryIsBounded) {
  EXPECT_EXIT(use_up_near_code(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace mmiotrace::codecache
