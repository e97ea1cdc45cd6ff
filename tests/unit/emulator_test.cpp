// Unit tests for the Emulate strategy: each access is made exactly once with the instruction's
// own width and reported with its value; read-modify-writes are a read then a write; faults an
// emulated instruction raises reach the program as the CPU would raise them; what cannot be
// emulated is single-stepped and said.
#include <cpuid.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <setjmp.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mmiotrace/mmiotrace.hpp"
#include "test_support.hpp"

namespace mmiotrace::testing {
namespace {

bool cpu_has_movdir64b() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 28));
}

std::string g_notice;
void keep_notice(const char* text, size_t length, void*) {
  g_notice.assign(text, length);
}

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(memory_.base(), nullptr);
    ASSERT_FALSE(set_strategy(Strategy::Emulate));
    access_log().clear();
    before_ = stats();
  }
  void TearDown() override {
    if (armed_) mmiotrace_unregister_probe(&probe_);
  }
  void arm(size_t offset, size_t length) {
    probe_ = {memory_.address(offset), length, &log_pre, &log_post, nullptr, 0};
    ASSERT_EQ(mmiotrace_register_probe(&probe_), 0);
    armed_ = true;
  }
  void disarm() {
    ASSERT_EQ(mmiotrace_unregister_probe(&probe_), 0);
    armed_ = false;
  }
  // Phase (0 pre, 1 post), kind and width of each report, as "pre R4 post R4 ...".
  std::string reports() const {
    std::string out;
    for (size_t i = 0; i < access_log().size(); ++i) {
      const SeenAccess& seen = access_log()[i];
      if (!out.empty()) out += ' ';
      out += seen.phase ? "post " : "pre ";
      out += seen.access.kind == MMIOTRACE_ACCESS_READ    ? "R"
             : seen.access.kind == MMIOTRACE_ACCESS_WRITE ? "W"
                                                          : "?";
      out += std::to_string(seen.access.width);
    }
    return out;
  }
  uint64_t single_steps() const { return stats().single_stepped - before_.single_stepped; }

  TestMemory memory_{4};
  mmiotrace_probe probe_ = {};
  bool armed_ = false;
  mmiotrace_stats before_ = {};
};

TEST_F(EmulatorTest, LoadIsOneReadOfItsWidthWithItsValue) {
  std::memcpy(memory_.base() + 0x20, "\x11\x22\x33\x44", 4);
  arm(0, 4096);
  EXPECT_EQ(load32(memory_.address(0x20)), 0x44332211u);
  EXPECT_EQ(reports(), "pre R4 post R4");
  EXPECT_FALSE(access_log()[0].access.value_known);
  EXPECT_EQ(access_log()[1].access.value.u64, 0x44332211u);
  EXPECT_EQ(single_steps(), 0u);
}

TEST_F(EmulatorTest, StoreIsOneWriteWhoseValueIsKnownBeforehand) {
  arm(0, 4096);
  store64(memory_.address(0x28), 0x0102030405060708ull);
  EXPECT_EQ(reports(), "pre W8 post W8");
  EXPECT_TRUE(access_log()[0].access.value_known);
  EXPECT_EQ(access_log()[0].access.value.u64, 0x0102030405060708ull);
  disarm();
  EXPECT_EQ(load64(memory_.address(0x28)), 0x0102030405060708ull);
}

TEST_F(EmulatorTest, ReadModifyWriteIsOneReadThenOneWrite) {
  store32(memory_.address(0x30), 41);
  arm(0, 4096);
  asm volatile("addl $1, (%0)" ::"r"(memory_.address(0x30)) : "memory", "cc");
  EXPECT_EQ(reports(), "pre R4 post R4 pre W4 post W4");
  EXPECT_EQ(access_log()[1].access.value.u64, 41u);
  EXPECT_EQ(access_log()[3].access.value.u64, 42u);
}

// Runs `code` (ending in ret) from an executable copy, with RAX = rax; returns RAX.
uint64_t run_code(const std::vector<uint8_t>& code, uint64_t rax) {
  void* memory =
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  std::memcpy(memory, code.data(), code.size());
  asm volatile("call *%1"
               : "+a"(rax)
               : "r"(memory)
               : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
  munmap(memory, 4096);
  return rax;
}

std::vector<uint8_t> with_address(std::vector<uint8_t> code, size_t at, uintptr_t address) {
  std::memcpy(code.data() + at, &address, 8);
  return code;
}

TEST_F(EmulatorTest, MovWithAnAbsoluteAddress) {
  arm(0, 4096);
  uintptr_t address = memory_.address(0x70);
  // movabs %rax, address; ret    then    movabs address, %eax; ret
  run_code(with_address({0x48, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3}, 2, address), 0x5566778899);
  uint64_t read = run_code(with_address({0xa1, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3}, 1, address), 0);
  EXPECT_EQ(read, 0x66778899u);
  EXPECT_EQ(reports(), "pre W8 post W8 pre R4 post R4");
  EXPECT_EQ(access_log()[1].access.value.u64, 0x5566778899u);
  EXPECT_EQ(single_steps(), 0u);
}

TEST_F(EmulatorTest, CompareReadsAndNeverWrites) {
  arm(0, 4096);
  bool zero;
  asm volatile("cmpl $0, (%1)\n\tsete %0" : "=q"(zero) : "r"(memory_.address(0x40)) : "cc");
  EXPECT_TRUE(zero);
  EXPECT_EQ(reports(), "pre R4 post R4");
}

TEST_F(EmulatorTest, LockedExchangeIsOneReadThenOneWrite) {
  store64(memory_.address(0x48), 7);
  arm(0, 4096);
  uint64_t value = 9;
  asm volatile("xchgq %0, (%1)" : "+r"(value) : "r"(memory_.address(0x48)) : "memory");
  EXPECT_EQ(value, 7u);
  EXPECT_EQ(reports(), "pre R8 post R8 pre W8 post W8");
  EXPECT_EQ(access_log()[3].access.value.u64, 9u);
}

TEST_F(EmulatorTest, VectorAccessesAreOneAccessOfTheirFullWidth) {
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2";
  arm(0, 4096);
  uint8_t source[32];
  for (int i = 0; i < 32; ++i)
    source[i] = static_cast<uint8_t>(i + 1);
  asm volatile("vmovdqu (%0), %%ymm0\n\tvmovdqu %%ymm0, (%1)" ::"r"(source),
               "r"(memory_.address(0x103))
               : "xmm0", "memory");
  uint8_t back[32];
  asm volatile("vmovdqu (%0), %%ymm1\n\tvmovdqu %%ymm1, (%1)" ::"r"(memory_.address(0x103)),
               "r"(back)
               : "xmm1", "memory");
  EXPECT_EQ(std::memcmp(back, source, 32), 0);
  EXPECT_EQ(reports(), "pre W32 post W32 pre R32 post R32");
  EXPECT_EQ(std::memcmp(access_log()[1].access.value.bytes, source, 32), 0);
  EXPECT_EQ(std::memcmp(access_log()[3].access.value.bytes, source, 32), 0);
}

TEST_F(EmulatorTest, Movdir64bIsOne64ByteWrite) {
  if (!cpu_has_movdir64b()) GTEST_SKIP() << "no MOVDIR64B";
  arm(0, 4096);
  alignas(64) uint8_t source[64];
  for (int i = 0; i < 64; ++i)
    source[i] = static_cast<uint8_t>(0x80 + i);
  asm volatile("movdir64b (%0), %1" ::"r"(source), "r"(memory_.address(0x200)) : "memory");
  EXPECT_EQ(reports(), "pre W64 post W64");
  EXPECT_EQ(std::memcmp(access_log()[1].access.value.bytes, source, 64), 0);
  disarm();
  EXPECT_EQ(std::memcmp(memory_.base() + 0x200, source, 64), 0);
}

TEST_F(EmulatorTest, RepMovsIsOneReadAndOneWritePerTracedElement) {
  arm(0x1000, 0x1000);
  // Source traced, destination not: only the reads are reported.
  uint64_t destination[8] = {};
  uintptr_t from = memory_.address(0x1000);
  uintptr_t to = reinterpret_cast<uintptr_t>(destination);
  uint64_t count = 8;
  asm volatile("rep movsq" : "+S"(from), "+D"(to), "+c"(count) : : "memory");
  EXPECT_EQ(reports(), std::string("pre R8 post R8 pre R8 post R8 pre R8 post R8 pre R8 post R8 "
                                   "pre R8 post R8 pre R8 post R8 pre R8 post R8 pre R8 post R8"));
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(to, reinterpret_cast<uintptr_t>(destination + 8));
}

TEST_F(EmulatorTest, RepStosRunningIntoAndOutOfTheRegionReportsOnlyItsPart) {
  arm(0x1000, 0x10);
  uintptr_t to = memory_.address(0x1000 - 4);
  uint64_t count = 24;  // 4 bytes before, 16 inside, 4 after
  asm volatile("rep stosb" : "+D"(to), "+c"(count) : "a"(0xab) : "memory");
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(access_log().post_count(), 16u);
  EXPECT_EQ(access_log().nth_post(0)->access.address, memory_.address(0x1000));
  EXPECT_EQ(access_log().nth_post(15)->access.address, memory_.address(0x100f));
  disarm();
  for (size_t i = 0x1000 - 4; i < 0x1000 + 20; ++i)
    EXPECT_EQ(memory_.base()[i], 0xab) << i;
}

TEST_F(EmulatorTest, AccessCrossingIntoTheProbeReportsItsTracedPart) {
  arm(0x802, 0x100);
  store32(memory_.address(0x800), 0xaabbccdd);
  ASSERT_EQ(reports(), "pre W2 post W2");
  EXPECT_EQ(access_log()[1].access.address, memory_.address(0x802));
  EXPECT_EQ(access_log()[1].access.value.u64 & 0xffff, 0xaabbu);
  disarm();
  EXPECT_EQ(load32(memory_.address(0x800)), 0xaabbccddu);
}

TEST_F(EmulatorTest, AccessStraddlingTwoTracedPagesIsOneAccess) {
  arm(0, 2 * 4096);
  store64(memory_.address(4096 - 3), 0x1122334455667788ull);
  EXPECT_EQ(load64(memory_.address(4096 - 3)), 0x1122334455667788ull);
  EXPECT_EQ(reports(), "pre W8 post W8 pre R8 post R8");
}

sigjmp_buf g_recovery;
std::atomic<int> g_signal_code{0};
std::atomic<uintptr_t> g_signal_address{0};
void recover(int, siginfo_t* info, void*) {
  g_signal_code = info->si_code;
  g_signal_address = reinterpret_cast<uintptr_t>(info->si_addr);
  siglongjmp(g_recovery, 1);
}

// The signal (code and address) `run` raises, with a recovering SIGSEGV handler.
std::pair<int, uintptr_t> signal_of(void (*run)(uintptr_t), uintptr_t address) {
  struct sigaction action = {}, previous = {};
  action.sa_sigaction = &recover;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, &previous);
  g_signal_code = 0;
  g_signal_address = 0;
  if (sigsetjmp(g_recovery, 1) == 0) run(address);
  sigaction(SIGSEGV, &previous, nullptr);
  return {g_signal_code.load(), g_signal_address.load()};
}

uintptr_t g_copy_source = 0;
void copy_four_bytes_to(uintptr_t destination) {
  uintptr_t from = g_copy_source;
  uint64_t count = 4;
  asm volatile("rep movsb" : "+S"(from), "+D"(destination), "+c"(count) : : "memory");
}

TEST_F(EmulatorTest, FaultOnTheUntracedSideOfAStringInstructionReachesTheProgram) {
  arm(0, 4096);  // first: its alias must not land in the hole
  TestMemory hole(1);
  uintptr_t unmapped = hole.address();
  munmap(hole.base(), hole.size());
  // Untraced, a MOVS into an unmapped page faults with SEGV_MAPERR at its destination; traced,
  // the program must see the same.
  g_copy_source = memory_.address(0x10);
  auto [code, address] = signal_of(&copy_four_bytes_to, unmapped);
  EXPECT_EQ(code, SEGV_MAPERR);
  EXPECT_EQ(address, unmapped);
  mmap(reinterpret_cast<void*>(unmapped), 4096, PROT_READ | PROT_WRITE,
       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

void misaligned_movdqa(uintptr_t address) {
  asm volatile("movdqa (%0), %%xmm0" ::"r"(address + 8) : "xmm0", "memory");
}

TEST_F(EmulatorTest, AlignmentFaultIsTheSameTracedAndUntraced) {
  auto untraced = signal_of(&misaligned_movdqa, memory_.address(0x100));
  arm(0, 4096);
  auto traced = signal_of(&misaligned_movdqa, memory_.address(0x100));
  EXPECT_EQ(traced, untraced);
  EXPECT_EQ(untraced.first, SI_KERNEL);  // #GP
}

void divide_by_traced_zero(uintptr_t address) {
  mmiotrace_probe probe = {address, 4096, nullptr, nullptr, nullptr, 0};
  if (mmiotrace_register_probe(&probe) != 0) _exit(3);
  uint32_t eax = 10;
  uint32_t edx = 0;
  asm volatile("divl (%2)" : "+a"(eax), "+d"(edx) : "r"(address + 0x10) : "cc");
}

TEST_F(EmulatorTest, DivisionByZeroRaisesSigfpe) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(divide_by_traced_zero(memory_.address()), ::testing::KilledBySignal(SIGFPE), "");
}

// Maps a two-page file, traces it, cuts the file to one page and reads the second.
void read_beyond_end_of_file() {
  char path[] = "/tmp/mmiotrace-truncated-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  if (ftruncate(fd, 8192) != 0) _exit(3);
  void* file = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  mmiotrace_probe probe = {reinterpret_cast<uintptr_t>(file), 8192, nullptr, nullptr, nullptr, 0};
  if (mmiotrace_register_probe(&probe) != 0) _exit(4);
  if (ftruncate(fd, 4096) != 0) _exit(5);
  load32(reinterpret_cast<uintptr_t>(file) + 4096 + 16);
}

TEST_F(EmulatorTest, AliasBeyondTheEndOfItsFileRaisesSigbus) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(read_beyond_end_of_file(), ::testing::KilledBySignal(SIGBUS), "");
}

TEST_F(EmulatorTest, InstructionThatCannotBeEmulatedIsSingleSteppedAndSaid) {
  mmiotrace_set_notice_handler(&keep_notice, nullptr);
  g_notice.clear();
  arm(0, 4096);
  uint64_t landed = 0;
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rax, (%1)\n\t"
      "jmp *(%1)\n\t"
      "ud2\n"
      "1:\n\t"
      "movq $1, %0"
      : "=r"(landed)
      : "r"(memory_.address(0x60))
      : "rax", "memory");
  mmiotrace_set_notice_handler(nullptr, nullptr);
  EXPECT_EQ(landed, 1u);
  EXPECT_EQ(single_steps(), 1u);
  EXPECT_NE(g_notice.find("single-stepping the instruction"), std::string::npos) << g_notice;
  EXPECT_NE(g_notice.find("it jumps through memory"), std::string::npos) << g_notice;
  // The store before it was emulated, the jump single-stepped (a read of unknown use).
  EXPECT_EQ(access_log().post_count(), 2u);
}

// Counts every post-handler report, from any thread.
std::atomic<uint64_t> g_reports{0};
void count_report(mmiotrace_probe*, const mmiotrace_access*, void*) {
  g_reports.fetch_add(1);
}

TEST_F(EmulatorTest, ManyThreadsOnTheSamePagesSeeExactCountsAndEveryAccess) {
  probe_ = {memory_.address(), 2 * 4096, nullptr, &count_report, nullptr, 0};
  ASSERT_EQ(mmiotrace_register_probe(&probe_), 0);
  armed_ = true;
  g_reports = 0;
  constexpr int kThreads = 8;
  constexpr int kIterations = 4000;
  uintptr_t counter = memory_.address(0x10);
  uintptr_t adds = memory_.address(0x18);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uintptr_t slot = memory_.address(4096 + 64 * static_cast<size_t>(t));
      for (int i = 0; i < kIterations; ++i) {
        asm volatile("lock incq (%0)" ::"r"(counter) : "memory", "cc");
        uint32_t one = 1;
        asm volatile("lock xaddl %0, (%1)" : "+r"(one) : "r"(adds) : "memory", "cc");
        uint64_t mine = (static_cast<uint64_t>(t) << 32) | static_cast<uint64_t>(i);
        store64(slot, mine);
        if (load64(slot) != mine) mismatches.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(load64(counter), static_cast<uint64_t>(kThreads) * kIterations);
  EXPECT_EQ(load32(adds), static_cast<uint32_t>(kThreads * kIterations));
  // Each thread and iteration: two read-modify-writes (two reports each), a store, a load;
  // the two checks above add a read each.
  EXPECT_EQ(g_reports.load(), static_cast<uint64_t>(kThreads) * kIterations * 6 + 2);
  EXPECT_EQ(single_steps(), 0u);
}

}  // namespace
}  // namespace mmiotrace::testing
