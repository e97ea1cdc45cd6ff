// Unit tests for x86/entry_patch: a site that keeps trapping into the code cache gets a jump into
// it, which stops the traps and changes nothing the program sees; the original bytes are what
// translation reads and what comes back when the traced region goes; a site under a branch
// target, a jump over several instructions in a process with other threads, and patching turned
// off are left alone; a jump over one instruction is made with other threads running it.
#include "x86/entry_patch.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "mmiotrace/mmiotrace.hpp"
#include "x86/block_translator.hpp"

// Three hot loops, in this executable's file-backed code. Each iteration loads the traced word
// at the site (the 3-byte load, then a 3-byte add: the jump covers both), then calls the function
// in %rdx, which ends the translated block: the next iteration comes back to the site from the
// original code. The second loop also jumps to the add from elsewhere; the third's load is 7
// bytes long.
//   uint64_t entry_patch_loop(volatile uint64_t* word, uint64_t iterations, void (*call)(void))
asm(R"(
        .text
        .globl entry_patch_loop, entry_patch_site
        .globl entry_patch_targeted_loop, entry_patch_targeted_site
        .globl entry_patch_wide_loop, entry_patch_wide_site

        // The iterations in %r12, the function in %r13, the sum in %r14; %rbx is the loop's.
        .macro loop_prologue
        push %rbx
        push %r12
        push %r13
        push %r14
        mov %rsi, %r12
        mov %rdx, %r13
        xor %r14d, %r14d
        .endm
        // Returns the sum.
        .macro loop_epilogue
        mov %r14, %rax
        pop %r14
        pop %r13
        pop %r12
        pop %rbx
        ret
        .endm

entry_patch_loop:
        loop_prologue
        mov %rdi, %rbx
entry_patch_site:
        mov (%rbx), %rcx
        add %rcx, %r14
        call *%r13
        dec %r12
        jnz entry_patch_site
        loop_epilogue

entry_patch_targeted_loop:
        loop_prologue
        mov %rdi, %rbx
        xor %ecx, %ecx
        jmp 2f
entry_patch_targeted_site:
        mov (%rbx), %rcx
2:      add %rcx, %r14
        call *%r13
        dec %r12
        jnz entry_patch_targeted_site
        loop_epilogue

entry_patch_wide_loop:
        loop_prologue
        lea -0x100(%rdi), %rbx
entry_patch_wide_site:
        mov 0x100(%rbx), %rcx
        add %rcx, %r14
        call *%r13
        dec %r12
        jnz entry_patch_wide_site
        loop_epilogue
)");

extern "C" uint64_t entry_patch_loop(volatile uint64_t* word, uint64_t iterations, void (*call)());
extern "C" uint64_t entry_patch_targeted_loop(volatile uint64_t* word, uint64_t iterations,
                                              void (*call)());
// Its site is a 7-byte load (`mov 0x100(%rbx),%rcx`): the jump covers it alone.
extern "C" uint64_t entry_patch_wide_loop(volatile uint64_t* word, uint64_t iterations,
                                          void (*call)());
extern "C" char entry_patch_wide_site[];
extern "C" char entry_patch_site[];
extern "C" char entry_patch_targeted_site[];

namespace mmiotrace::x86 {
namespace {

std::atomic<uint64_t> g_calls{0};
void counted_call() { g_calls.fetch_add(1, std::memory_order_relaxed); }

constexpr uint64_t kWordValue = 0x1234567890abcdefull;
constexpr uint64_t kIterations = 200;

class EntryPatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page_, MAP_FAILED);
    word_ = static_cast<volatile uint64_t*>(page_);
    *word_ = kWordValue;
    set_entry_patching(true);
    mmiotrace_set_divert(1);
  }
  void TearDown() override {
    mmiotrace_set_divert(0);
    set_entry_patching(true);
    munmap(page_, 4096);
  }
  static uint64_t traps() { return mmiotrace::stats().faults_handled; }
  static uint64_t patched() { return mmiotrace::stats().entries_patched; }
  static void read_site(const char* site, uint8_t* out) {
    std::memcpy(out, site, kEntryJumpBytes);
  }

  void* page_ = nullptr;
  volatile uint64_t* word_ = nullptr;
};

TEST_F(EntryPatchTest, AHotSiteIsPatchedAndTrapsNoMoreWhileTheProgramSeesTheSame) {
  uint8_t original[kEntryJumpBytes];
  read_site(entry_patch_site, original);
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, 4096, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    uint64_t traps_before = traps();
    g_calls = 0;
    EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(g_calls.load(), kIterations);
    EXPECT_EQ(patched(), patched_before + 1);
    // Only the traps before the site was hot: every later iteration came in through the jump.
    // (Fewer when an earlier test in this process counted traps at the site already.)
    EXPECT_GE(traps() - traps_before, 1u);
    EXPECT_LE(traps() - traps_before, kHotEntryTraps);
    EXPECT_EQ(static_cast<uint8_t>(entry_patch_site[0]), 0xe9);
    EXPECT_EQ(entry_patch_count(), 1u);
    // Translation reads the code as it was.
    uint8_t seen[kEntryJumpBytes];
    ASSERT_EQ(read_code(seen, reinterpret_cast<uintptr_t>(entry_patch_site), sizeof(seen)),
              static_cast<long>(sizeof(seen)));
    EXPECT_EQ(std::memcmp(seen, original, sizeof(seen)), 0);
    // The patched loop runs again, still right, without a trap.
    *word_ = 3;  // (a trap of its own)
    uint64_t traps_between = traps();
    EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), 3 * kIterations);
    EXPECT_EQ(traps(), traps_between);
  }
  // The traced region is gone: so is the patch, and the loop runs natively.
  uint8_t after[kEntryJumpBytes];
  read_site(entry_patch_site, after);
  EXPECT_EQ(std::memcmp(after, original, sizeof(after)), 0);
  EXPECT_EQ(entry_patch_count(), 0u);
  *word_ = 5;
  EXPECT_EQ(entry_patch_loop(word_, 10, counted_call), 50u);
}

TEST_F(EntryPatchTest, ASiteWhoseBytesABranchTargetsIsNotPatched) {
  uint8_t original[kEntryJumpBytes];
  read_site(entry_patch_targeted_site, original);
  uint64_t patched_before = patched();
  ScopedProbe probe(page_, 4096, nullptr, nullptr);
  ASSERT_FALSE(probe.status());
  uint64_t traps_before = traps();
  // The first iteration jumps past the load (adding %rcx = 0); the others load.
  EXPECT_EQ(entry_patch_targeted_loop(word_, kIterations, counted_call),
            kWordValue * (kIterations - 1));
  EXPECT_EQ(patched(), patched_before);
  EXPECT_EQ(traps() - traps_before, kIterations - 1);
  uint8_t after[kEntryJumpBytes];
  read_site(entry_patch_targeted_site, after);
  EXPECT_EQ(std::memcmp(after, original, sizeof(after)), 0);
}

TEST_F(EntryPatchTest, NoJumpCoversTwoInstructionsWhileAnotherThreadRuns) {
  std::atomic<bool> done{false};
  std::thread other([&done] {
    while (!done.load()) std::this_thread::yield();
  });
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, 4096, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    uint64_t traps_before = traps();
    EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(traps() - traps_before, kIterations);
    EXPECT_EQ(patched(), patched_before);
  }
  done.store(true);
  other.join();
}

// A site whose own instruction lies under the whole jump is patched with other threads running
// it meanwhile: no thread can be stopped inside an instruction, and one at the site meets the
// int3 or the whole jump. Every thread's sums stay right, and the traps stop.
TEST_F(EntryPatchTest, ASiteThatIsOneInstructionUnderTheJumpIsPatchedWhileOtherThreadsRunIt) {
  uint8_t original[kEntryJumpBytes];
  read_site(entry_patch_wide_site, original);
  ASSERT_EQ(static_cast<uint8_t>(original[0]), 0x48);  // mov 0x100(%rbx),%rcx: 7 bytes
  uint64_t patched_before = patched();
  constexpr int kThreads = 4;
  constexpr uint64_t kEach = 20000;
  {
    ScopedProbe probe(page_, 4096, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    std::atomic<int> wrong{0};
    auto run_threads = [&] {
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
          if (entry_patch_wide_loop(word_, kEach, counted_call) != kWordValue * kEach) ++wrong;
        });
      }
      for (std::thread& thread : threads) thread.join();
    };
    run_threads();  // traps until the jump is in (the first patch of a run sweeps the mapping)
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(patched(), patched_before + 1);
    EXPECT_EQ(static_cast<uint8_t>(entry_patch_wide_site[0]), 0xe9);
    uint64_t traps_before = traps();
    run_threads();  // every entry through the jump
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(traps(), traps_before);
  }
  uint8_t after[kEntryJumpBytes];
  read_site(entry_patch_wide_site, after);
  EXPECT_EQ(std::memcmp(after, original, sizeof(after)), 0);
}

TEST_F(EntryPatchTest, PatchingTurnedOffLeavesEverySiteAsItIs) {
  set_entry_patching(false);
  uint64_t patched_before = patched();
  ScopedProbe probe(page_, 4096, nullptr, nullptr);
  ASSERT_FALSE(probe.status());
  uint64_t traps_before = traps();
  EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), kWordValue * kIterations);
  EXPECT_EQ(traps() - traps_before, kIterations);
  EXPECT_EQ(patched(), patched_before);
}

TEST(EntryPatch, EveryOutcomeHasAName) {
  for (int outcome = 0; outcome <= static_cast<int>(PatchOutcome::ProtectFailed); ++outcome) {
    EXPECT_STRNE(patch_outcome_name(static_cast<PatchOutcome>(outcome)), "?");
  }
}

}  // namespace
}  // namespace mmiotrace::x86
