// Unit tests for codecache/entry_patch: a site that keeps trapping into the cache gets a jump into
// it, which stops the traps and changes nothing the program sees; the original bytes are what
// translation reads and what comes back when the traced region goes. A site shorter than the
// jump gets one over its own bytes alone (with a prefix when the first window is taken), also
// while other threads run it and enter after it; with no window free, a lone thread gets a jump
// over the next instructions too, and a process with other threads none; patching turned off
// leaves every site alone.
#include "codecache/entry_patch.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "codecache/block_translator.hpp"
#include "codecache/policy.hpp"
#include "codecache/translation_cache.hpp"
#include "core/process_layout.hpp"
#include "mmiotrace/mmiotrace.hpp"

// Hot loops, in this executable's file-backed code. Each iteration loads the traced word at the
// site, then runs a `test` whose immediate chooses where a jump over the site alone can lead (its
// bytes are the high bytes of that jump's displacement: a window about a gigabyte below this
// code, a different one for each loop), adds the load to the sum, and calls the function in
// %rdx, which ends the translated block: the next iteration comes back to the site from the
// original code. Sites: `mov (%rbx),%rcx` (3 bytes), `mov (%rbx),%ecx` (2 bytes, which loads the
// word's low half) or `mov 0x100(%rbx),%rcx` (7 bytes). A targeted loop also jumps to the
// instruction after its site from elsewhere (its first iteration skips the load).
//   uint64_t NAME_loop(volatile uint64_t* word, uint64_t iterations, void (*call)(void))
asm(R"(
        .text

        // The iterations in %r12, the function in %r13, the sum in %r14; %rbx is the loop's.
        .macro loop_prologue
        push %rbx
        push %r12
        push %r13
        push %r14
        mov %rsi, %r12
        mov %rdx, %r13
        xor %r14d, %r14d
        xor %ecx, %ecx
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

        .macro traced_loop name, load, window, targeted=0, base=0
        .globl \name\()_loop, \name\()_site
\name\()_loop:
        loop_prologue
        lea -\base(%rdi), %rbx
        .if \targeted
        jmp \name\()_after_site
        .endif
\name\()_site:
        \load
\name\()_after_site:
        test $(\window | (\window << 8)), %eax
        add %rcx, %r14
        call *%r13
        dec %r12
        jnz \name\()_site
        loop_epilogue
        .endm

        traced_loop entry_patch, "mov (%rbx), %rcx", 0xb0
        traced_loop entry_patch_targeted, "mov (%rbx), %rcx", 0xb4, targeted=1
        traced_loop entry_patch_covering, "mov (%rbx), %rcx", 0xb8
        traced_loop entry_patch_crowded, "mov (%rbx), %rcx", 0xbc
        traced_loop entry_patch_prefixed, "mov (%rbx), %rcx", 0xc0
        traced_loop entry_patch_short, "mov (%rbx), %ecx", 0xc4
        traced_loop entry_patch_threads, "mov (%rbx), %rcx", 0xc8, targeted=1
        traced_loop entry_patch_wide, "mov 0x100(%rbx), %rcx", 0xcc, base=0x100

        // A 7-byte site after bytes that, read as a branch, jump into it: the immediate of a
        // `movabs $0x5e9, %rax` that never runs reads as `jmp .+10`, into the site's
        // displacement, to whatever does not decode the `movabs`.
        .globl entry_patch_decoy_loop, entry_patch_decoy_site
entry_patch_decoy_loop:
        loop_prologue
        lea -0x100(%rdi), %rbx
        jmp entry_patch_decoy_site
        .byte 0x48, 0xb8, 0xe9, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
entry_patch_decoy_site:
        mov 0x100(%rbx), %rcx
        test $(0xd0 | (0xd0 << 8)), %eax
        add %rcx, %r14
        call *%r13
        dec %r12
        jnz entry_patch_decoy_site
        loop_epilogue

        // The same with a short branch: `mov $0x4eb, %eax` reads as `jmp .+6`, into the site.
        .globl entry_patch_near_decoy_loop, entry_patch_near_decoy_site
entry_patch_near_decoy_loop:
        loop_prologue
        lea -0x100(%rdi), %rbx
        jmp entry_patch_near_decoy_site
        .byte 0xb8, 0xeb, 0x04, 0x00, 0x00
entry_patch_near_decoy_site:
        mov 0x100(%rbx), %rcx
        test $(0xd4 | (0xd4 << 8)), %eax
        add %rcx, %r14
        call *%r13
        dec %r12
        jnz entry_patch_near_decoy_site
        loop_epilogue
)");

#define TRACED_LOOP(name)                                                                        \
  extern "C" uint64_t name##_loop(volatile uint64_t* word, uint64_t iterations, void (*call)()); \
  extern "C" char name##_site[];
TRACED_LOOP(entry_patch)
TRACED_LOOP(entry_patch_targeted)
TRACED_LOOP(entry_patch_covering)
TRACED_LOOP(entry_patch_crowded)
TRACED_LOOP(entry_patch_prefixed)
TRACED_LOOP(entry_patch_short)
TRACED_LOOP(entry_patch_threads)
TRACED_LOOP(entry_patch_wide)
TRACED_LOOP(entry_patch_decoy)
TRACED_LOOP(entry_patch_near_decoy)

namespace mmiotrace::codecache {
namespace {

std::atomic<uint64_t> g_calls{0};
void counted_call() {
  g_calls.fetch_add(1, std::memory_order_relaxed);
}

constexpr uint64_t kWordValue = 0x1234567890abcdefull;
constexpr uint64_t kIterations = 200;
constexpr size_t kPage = 4096;

using Loop = uint64_t (*)(volatile uint64_t*, uint64_t, void (*)());

uintptr_t address_of(const char* site) {
  return reinterpret_cast<uintptr_t>(site);
}

// The code at `site`, as it is in memory now.
std::vector<uint8_t> bytes_at(const char* site, size_t count = kMaxPaddedJumpBytes) {
  return {reinterpret_cast<const uint8_t*>(site), reinterpret_cast<const uint8_t*>(site) + count};
}

// Where the jump at `site`, whatever its prefixes, leads (0 when there is no jump there).
uintptr_t jump_target(const char* site) {
  std::vector<uint8_t> code = bytes_at(site);
  size_t prefixes = 0;
  while (prefixes < 3 && code[prefixes] == 0x26)
    ++prefixes;
  if (code[prefixes] != 0xe9) return 0;
  int32_t displacement;
  std::memcpy(&displacement, code.data() + prefixes + 1, sizeof(displacement));
  return address_of(site) + prefixes + 5 + static_cast<intptr_t>(displacement);
}

// Pages mapped over the windows a jump over a site could lead to, so that none is free.
class WindowBlocker {
 public:
  // Blocks the windows of the jumps with `first` to `last` prefixes over the `length`-byte site.
  WindowBlocker(const char* site, size_t length, size_t first, size_t last) {
    std::vector<uint8_t> code = bytes_at(site);
    for (size_t prefixes = first; prefixes <= last; ++prefixes) {
      JumpWindow window;
      if (!jump_window(address_of(site), code.data(), length, prefixes, &window)) continue;
      for (uintptr_t page = window.low & ~(kPage - 1); page <= window.high + 32; page += kPage) {
        void* mapped = mmap(reinterpret_cast<void*>(page), kPage, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (mapped == reinterpret_cast<void*>(page))
          pages_.push_back(page);
        else if (mapped != MAP_FAILED)
          munmap(mapped, kPage);  // (an old kernel's hint)
      }
    }
  }
  ~WindowBlocker() {
    for (uintptr_t page : pages_)
      munmap(reinterpret_cast<void*>(page), kPage);
  }

 private:
  std::vector<uintptr_t> pages_;
};

class EntryPatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    page_ = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page_, MAP_FAILED);
    word_ = static_cast<volatile uint64_t*>(page_);
    *word_ = kWordValue;
    set_entry_patching(true);
    mmiotrace_set_divert(1);
  }
  void TearDown() override {
    mmiotrace_set_divert(0);
    set_entry_patching(true);
    set_code_cache_policy(CodeCachePolicy::Adaptive);
    munmap(page_, kPage);
  }
  static uint64_t traps() { return mmiotrace::stats().faults_handled; }
  static uint64_t patched() { return mmiotrace::stats().entries_patched; }

  // Runs `loop` in `threads` threads at once, `iterations` each: whether every sum was right
  // (the targeted loops skip the load once).
  bool run_threads(Loop loop, int threads, uint64_t iterations, uint64_t per_iteration,
                   bool targeted) {
    std::atomic<int> wrong{0};
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&] {
        uint64_t loads = targeted ? iterations - 1 : iterations;
        if (loop(word_, iterations, counted_call) != per_iteration * loads) ++wrong;
      });
    }
    for (std::thread& thread : running)
      thread.join();
    return wrong.load() == 0;
  }

  void* page_ = nullptr;
  volatile uint64_t* word_ = nullptr;
};

// A jump over a site shorter than it replaces the site's bytes and nothing after them.
void expect_jump_over_site_alone(const char* site, const std::vector<uint8_t>& original,
                                 size_t length) {
  std::vector<uint8_t> now = bytes_at(site);
  EXPECT_NE(std::memcmp(now.data(), original.data(), length), 0);
  EXPECT_TRUE(std::equal(now.begin() + static_cast<long>(length), now.end(),
                         original.begin() + static_cast<long>(length)));
  EXPECT_NE(jump_target(site), 0u);
}

TEST_F(EntryPatchTest, AHotSiteIsPatchedAndTrapsNoMoreWhileTheProgramSeesTheSame) {
  std::vector<uint8_t> original = bytes_at(entry_patch_site);
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    uint64_t traps_before = traps();
    g_calls = 0;
    EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(g_calls.load(), kIterations);
    EXPECT_EQ(patched(), patched_before + 1);
    // Only the traps before the site was translated (its first kTranslateAfterTraps - 1 are
    // emulated) and hot: every later iteration came in through the jump. (Fewer when an earlier
    // test in this process counted traps at the site already.)
    EXPECT_GE(traps() - traps_before, 1u);
    EXPECT_LE(traps() - traps_before, kTranslateAfterTraps - 1 + kHotEntryTraps);
    EXPECT_EQ(entry_patch_count(), 1u);
    // A 3-byte site, whose first window is free: a jump with no prefix, over the site alone.
    EXPECT_EQ(static_cast<uint8_t>(entry_patch_site[0]), 0xe9);
    expect_jump_over_site_alone(entry_patch_site, original, 3);
    // Translation reads the code as it was.
    uint8_t seen[kMaxPaddedJumpBytes];
    ASSERT_EQ(read_code(seen, address_of(entry_patch_site), sizeof(seen)),
              static_cast<long>(sizeof(seen)));
    EXPECT_EQ(std::memcmp(seen, original.data(), sizeof(seen)), 0);
    // So does the emulator, for a thread that faulted on the original instruction while another
    // wrote the patch over it, whatever of the patch it read: the int3 on the original bytes,
    // the int3 on the jump's, the whole jump. Bytes that are none of those stay as they are.
    const std::vector<uint8_t> jump = bytes_at(entry_patch_site);
    const uintptr_t site = address_of(entry_patch_site);
    uint8_t neither = 0;
    while (neither == original[1] || neither == jump[1])
      ++neither;
    for (int seen_state = 0; seen_state < 4; ++seen_state) {
      std::vector<uint8_t> code = seen_state == 0 ? original : jump;
      if (seen_state <= 1) code[0] = 0xcc;
      if (seen_state == 3) code[1] = neither;
      show_original_instruction(code.data(), site, code.size());
      EXPECT_EQ(code == original, seen_state != 3) << "state " << seen_state;
    }
    // The patched loop runs again, still right, without a trap.
    *word_ = 3;  // (a trap of its own)
    uint64_t traps_between = traps();
    EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), 3 * kIterations);
    EXPECT_EQ(traps(), traps_between);
  }
  // The traced region is gone: so is the patch, and the loop runs natively.
  EXPECT_EQ(bytes_at(entry_patch_site), original);
  EXPECT_EQ(entry_patch_count(), 0u);
  *word_ = 5;
  EXPECT_EQ(entry_patch_loop(word_, 10, counted_call), 50u);
}

// A branch to the instruction after the site still lands on that instruction, unchanged.
TEST_F(EntryPatchTest, ASiteWhoseNextInstructionABranchTargetsIsPatchedOverItsOwnBytesOnly) {
  std::vector<uint8_t> original = bytes_at(entry_patch_targeted_site);
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    // The first iteration jumps past the load (adding %rcx = 0); the others load.
    EXPECT_EQ(entry_patch_targeted_loop(word_, kIterations, counted_call),
              kWordValue * (kIterations - 1));
    EXPECT_EQ(patched(), patched_before + 1);
    expect_jump_over_site_alone(entry_patch_targeted_site, original, 3);
    uint64_t traps_before = traps();
    EXPECT_EQ(entry_patch_targeted_loop(word_, kIterations, counted_call),
              kWordValue * (kIterations - 1));
    EXPECT_EQ(traps(), traps_before);
  }
  EXPECT_EQ(bytes_at(entry_patch_targeted_site), original);
}

// With every window taken, a process with one thread gets a jump over the site and the
// instruction after it, which no branch targets.
TEST_F(EntryPatchTest, WithNoWindowFreeOneThreadGetsAJumpOverTheNextInstructionsToo) {
  if (self_stat_field(20) != 1) GTEST_SKIP() << "the process has other threads (a sanitizer's)";
  std::vector<uint8_t> original = bytes_at(entry_patch_covering_site);
  WindowBlocker blocker(entry_patch_covering_site, 3, 0, 2);
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    EXPECT_EQ(entry_patch_covering_loop(word_, kIterations, counted_call),
              kWordValue * kIterations);
    EXPECT_EQ(patched(), patched_before + 1);
    std::vector<uint8_t> now = bytes_at(entry_patch_covering_site);
    EXPECT_EQ(now[0], 0xe9);
    EXPECT_NE(std::memcmp(now.data() + 3, original.data() + 3, 2), 0);  // the `test` too
    EXPECT_TRUE(std::equal(now.begin() + 5, now.end(), original.begin() + 5));
    uint64_t traps_before = traps();
    EXPECT_EQ(entry_patch_covering_loop(word_, kIterations, counted_call),
              kWordValue * kIterations);
    EXPECT_EQ(traps(), traps_before);
  }
  EXPECT_EQ(bytes_at(entry_patch_covering_site), original);
}

// With every window taken and another thread running, no jump may cover more than the site.
TEST_F(EntryPatchTest, WithNoWindowFreeNoJumpCoversTwoInstructionsWhileAnotherThreadRuns) {
  std::vector<uint8_t> original = bytes_at(entry_patch_crowded_site);
  WindowBlocker blocker(entry_patch_crowded_site, 3, 0, 2);
  std::atomic<bool> done{false};
  std::thread other([&done] {
    while (!done.load())
      std::this_thread::yield();
  });
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    uint64_t traps_before = traps();
    EXPECT_EQ(entry_patch_crowded_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(traps() - traps_before, kIterations);
    EXPECT_EQ(patched(), patched_before);
    EXPECT_EQ(bytes_at(entry_patch_crowded_site), original);
  }
  done.store(true);
  other.join();
}

// With the widest window taken, the jump gets an ignored prefix and leads to the next window.
TEST_F(EntryPatchTest, WithTheFirstWindowTakenTheJumpGetsAPrefix) {
  std::vector<uint8_t> original = bytes_at(entry_patch_prefixed_site);
  WindowBlocker blocker(entry_patch_prefixed_site, 3, 0, 0);
  ScopedProbe probe(page_, kPage, nullptr, nullptr);
  ASSERT_FALSE(probe.status());
  EXPECT_EQ(entry_patch_prefixed_loop(word_, kIterations, counted_call), kWordValue * kIterations);
  std::vector<uint8_t> now = bytes_at(entry_patch_prefixed_site);
  EXPECT_EQ(now[0], 0x26);
  EXPECT_EQ(now[1], 0xe9);
  expect_jump_over_site_alone(entry_patch_prefixed_site, original, 3);
  JumpWindow window;
  ASSERT_TRUE(jump_window(address_of(entry_patch_prefixed_site), original.data(), 3, 1, &window));
  EXPECT_GE(jump_target(entry_patch_prefixed_site), window.low);
  EXPECT_LE(jump_target(entry_patch_prefixed_site), window.high);
  uint64_t traps_before = traps();
  EXPECT_EQ(entry_patch_prefixed_loop(word_, kIterations, counted_call), kWordValue * kIterations);
  EXPECT_EQ(traps(), traps_before);
}

// Sites shorter than the jump are patched while other threads run them, some of them entering
// at the instruction after the site: a jump over the site alone changes nothing a thread can be
// stopped in. Every thread's sums stay right, and the traps stop.
TEST_F(EntryPatchTest, ShortSitesArePatchedWhileOtherThreadsRunThem) {
  std::vector<uint8_t> short_original = bytes_at(entry_patch_short_site);
  std::vector<uint8_t> threads_original = bytes_at(entry_patch_threads_site);
  ASSERT_EQ(short_original[0], 0x8b);  // mov (%rbx),%ecx: 2 bytes
  uint64_t patched_before = patched();
  constexpr int kThreads = 4;
  constexpr uint64_t kEach = 20000;
  const uint64_t low_half = kWordValue & 0xffffffff;
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    auto run_both = [&] {
      std::thread threads_loops([&] {
        EXPECT_TRUE(run_threads(entry_patch_threads_loop, kThreads / 2, kEach, kWordValue, true));
      });
      EXPECT_TRUE(run_threads(entry_patch_short_loop, kThreads / 2, kEach, low_half, false));
      threads_loops.join();
    };
    run_both();  // traps until the jumps are in
    EXPECT_EQ(patched(), patched_before + 2);
    expect_jump_over_site_alone(entry_patch_short_site, short_original, 2);
    expect_jump_over_site_alone(entry_patch_threads_site, threads_original, 3);
    uint64_t traps_before = traps();
    run_both();  // every entry through the jumps
    EXPECT_EQ(traps(), traps_before);
  }
  EXPECT_EQ(bytes_at(entry_patch_short_site), short_original);
  EXPECT_EQ(bytes_at(entry_patch_threads_site), threads_original);
}

// A site whose own instruction lies under the whole jump gets a plain 5-byte jump, with other
// threads running it meanwhile.
TEST_F(EntryPatchTest, ASiteThatIsOneInstructionUnderTheJumpIsPatchedWhileOtherThreadsRunIt) {
  std::vector<uint8_t> original = bytes_at(entry_patch_wide_site);
  ASSERT_EQ(original[0], 0x48);  // mov 0x100(%rbx),%rcx: 7 bytes
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    EXPECT_TRUE(run_threads(entry_patch_wide_loop, 4, 20000, kWordValue, false));
    EXPECT_EQ(patched(), patched_before + 1);
    EXPECT_EQ(static_cast<uint8_t>(entry_patch_wide_site[0]), 0xe9);
    EXPECT_TRUE(std::equal(original.begin() + 5, original.end(),
                           bytes_at(entry_patch_wide_site).begin() + 5));
    uint64_t traps_before = traps();
    EXPECT_TRUE(run_threads(entry_patch_wide_loop, 4, 20000, kWordValue, false));
    EXPECT_EQ(traps(), traps_before);
  }
  EXPECT_EQ(bytes_at(entry_patch_wide_site), original);
}

// A site that other code's bytes, read as a branch, seem to jump into: whether a branch really
// does needs its mapping's sweep. Under the adaptive policy its traps so far do not pay for the
// sweep of this executable's code: it is not patched, and traps at every entry. Under the eager
// policy the sweep is made at its next trap, finds no branch into it, and the site is patched.
TEST_F(EntryPatchTest, ASiteThatOnlyLooksTargetedWaitsForTheSweepItsTrapsPayFor) {
  std::vector<uint8_t> original = bytes_at(entry_patch_decoy_site);
  ASSERT_EQ(original[0], 0x48);  // mov 0x100(%rbx),%rcx: 7 bytes
  forget_branch_targets();       // (the traps of another test's waiting sites may have paid for it)
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    uint64_t traps_before = traps();
    EXPECT_EQ(entry_patch_decoy_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(traps() - traps_before, kIterations);
    EXPECT_EQ(patched(), patched_before);
    EXPECT_EQ(bytes_at(entry_patch_decoy_site), original);
    set_code_cache_policy(CodeCachePolicy::Eager);
    EXPECT_EQ(entry_patch_decoy_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(patched(), patched_before + 1);
    EXPECT_EQ(static_cast<uint8_t>(entry_patch_decoy_site[0]), 0xe9);
    traps_before = traps();
    EXPECT_EQ(entry_patch_decoy_loop(word_, kIterations, counted_call), kWordValue * kIterations);
    EXPECT_EQ(traps(), traps_before);
  }
  EXPECT_EQ(bytes_at(entry_patch_decoy_site), original);
}

// A short branch lies near its target: the code around the site is decoded as the sweep would
// decode it, which finds that the bytes that read as one are a `mov`'s. The site is patched at
// once, with no sweep.
TEST_F(EntryPatchTest, ASiteThatAShortBranchOnlySeemsToTargetIsPatchedWithNoSweep) {
  std::vector<uint8_t> original = bytes_at(entry_patch_near_decoy_site);
  forget_branch_targets();
  uint64_t patched_before = patched();
  {
    ScopedProbe probe(page_, kPage, nullptr, nullptr);
    ASSERT_FALSE(probe.status());
    uint64_t traps_before = traps();
    EXPECT_EQ(entry_patch_near_decoy_loop(word_, kIterations, counted_call),
              kWordValue * kIterations);
    EXPECT_LE(traps() - traps_before, kTranslateAfterTraps - 1 + kHotEntryTraps);
    EXPECT_EQ(patched(), patched_before + 1);
    EXPECT_EQ(static_cast<uint8_t>(entry_patch_near_decoy_site[0]), 0xe9);
  }
  EXPECT_EQ(bytes_at(entry_patch_near_decoy_site), original);
}

TEST_F(EntryPatchTest, PatchingTurnedOffLeavesEverySiteAsItIs) {
  set_entry_patching(false);
  uint64_t patched_before = patched();
  ScopedProbe probe(page_, kPage, nullptr, nullptr);
  ASSERT_FALSE(probe.status());
  uint64_t traps_before = traps();
  EXPECT_EQ(entry_patch_loop(word_, kIterations, counted_call), kWordValue * kIterations);
  EXPECT_EQ(traps() - traps_before, kIterations);
  EXPECT_EQ(patched(), patched_before);
}

// The window of a jump over a 2-byte site: one byte of the displacement is free, the other three
// are the next instruction's; each prefix moves the displacement one byte further along.
TEST(EntryPatch, AJumpOverASiteAloneLeadsWhereTheNextBytesLetIt) {
  const uint8_t code[] = {0x8b, 0x0b, 0x49, 0x01, 0xce, 0x44, 0x55, 0x66};
  const uintptr_t site = 0x5555'5555'0000;
  JumpWindow window;
  ASSERT_TRUE(jump_window(site, code, 2, 0, &window));
  EXPECT_EQ(window.reach, 5u);
  EXPECT_EQ(window.low, site + 5 + static_cast<intptr_t>(static_cast<int32_t>(0xce014900)));
  EXPECT_EQ(window.high, window.low + 0xff);
  ASSERT_TRUE(jump_window(site, code, 2, 1, &window));  // one prefix: nothing left to choose
  EXPECT_EQ(window.reach, 6u);
  EXPECT_EQ(window.low, site + 6 + 0x44ce0149);
  EXPECT_EQ(window.high, window.low);
  // A 4-byte site: three bytes free.
  ASSERT_TRUE(jump_window(site, code, 4, 0, &window));
  EXPECT_EQ(window.low, site + 5 + static_cast<intptr_t>(static_cast<int32_t>(0xce000000)));
  EXPECT_EQ(window.high, window.low + 0xffffff);
  // No such jump: as many prefixes as site bytes, or a site the plain jump fits on.
  EXPECT_FALSE(jump_window(site, code, 2, 2, &window));
  EXPECT_FALSE(jump_window(site, code, 5, 0, &window));
  // A window wholly below address 0.
  EXPECT_FALSE(jump_window(0x1000, code, 2, 0, &window));
}

TEST(EntryPatch, EveryOutcomeHasAName) {
  for (int outcome = 0; outcome <= static_cast<int>(PatchOutcome::ProtectFailed); ++outcome) {
    EXPECT_STRNE(patch_outcome_name(static_cast<PatchOutcome>(outcome)), "?");
  }
}

}  // namespace
}  // namespace mmiotrace::codecache
