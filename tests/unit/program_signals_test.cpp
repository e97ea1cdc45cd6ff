// Unit tests for kmmio's hand-over of signals that are not ours: to the program's handler
// (installed before or after the engine), or to the default action; and for the interposed
// sigaction()/signal()/sigprocmask(), including the relay of the program's handlers while the
// code cache is on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

#include "codecache/region_cache.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.hpp"
#include "test_support.hpp"

namespace mmiotrace::testing {
namespace {

std::atomic<int> g_handler_calls{0};
std::atomic<int> g_last_si_code{0};
sigjmp_buf g_recovery;

void exit_42(int) {
  _exit(42);
}
void count_and_recover(int, siginfo_t* info, void*) {
  g_handler_calls.fetch_add(1);
  g_last_si_code.store(info->si_code);
  siglongjmp(g_recovery, 1);
}
void count_and_return(int) {
  g_handler_calls.fetch_add(1);
}

// Installs count_and_recover() for `signo` through the interposed sigaction().
struct sigaction install_recovering_handler(int signo) {
  struct sigaction action = {};
  action.sa_sigaction = &count_and_recover;
  action.sa_flags = SA_SIGINFO;
  struct sigaction previous;
  EXPECT_EQ(sigaction(signo, &action, &previous), 0);
  g_handler_calls = 0;
  return previous;
}

// Writes to a read-only page: a fault that is the program's own.
void foreign_write_fault() {
  static void* read_only = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  store32(reinterpret_cast<uintptr_t>(read_only), 1);
}

class ProgramSignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    access_log().clear();
  }
  void arm() {
    probe_ = {memory_.address(), 4096, nullptr, &log_post, nullptr, 0};
    ASSERT_EQ(mmiotrace_register_probe(&probe_), 0);
  }
  void TearDown() override { mmiotrace_unregister_probe(&probe_); }

  TestMemory memory_{1};
  mmiotrace_probe probe_ = {};
};

TEST_F(ProgramSignalsTest, ForeignFaultGoesToHandlerInstalledBeforeTheEngine) {
  EXPECT_EXIT(
      {
        ASSERT_FALSE(kmmio::fault_handlers_installed());
        signal(SIGSEGV, &exit_42);
        arm();
        ASSERT_TRUE(kmmio::fault_handlers_installed());
        store32(memory_.address(), 7);  // traced, not the program's business
        foreign_write_fault();
      },
      ::testing::ExitedWithCode(42), "");
}

TEST_F(ProgramSignalsTest, ForeignFaultGoesToHandlerInstalledAfterTheEngine) {
  arm();
  struct sigaction previous = install_recovering_handler(SIGSEGV);
  if (sigsetjmp(g_recovery, 1) == 0) foreign_write_fault();
  EXPECT_EQ(g_handler_calls.load(), 1);
  EXPECT_EQ(g_last_si_code.load(), SEGV_ACCERR);

  // The engine's handler is still the one the kernel calls: traced accesses are still seen.
  store32(memory_.address(8), 0x1234);
  EXPECT_EQ(access_log().post_count(), 1u);

  struct sigaction current;
  ASSERT_EQ(sigaction(SIGSEGV, &previous, &current), 0);
  EXPECT_EQ(current.sa_sigaction, &count_and_recover);
}

TEST_F(ProgramSignalsTest, SigactionReportsTheProgramsOwnDisposition) {
  arm();
  ASSERT_NE(signal(SIGBUS, &count_and_return), SIG_ERR);
  EXPECT_EQ(signal(SIGBUS, SIG_DFL), &count_and_return);
  struct sigaction current;
  ASSERT_EQ(sigaction(SIGBUS, nullptr, &current), 0);
  EXPECT_EQ(current.sa_handler, SIG_DFL);
}

TEST_F(ProgramSignalsTest, ForeignFaultWithoutHandlerTakesTheDefaultAction) {
  EXPECT_EXIT(
      {
        arm();
        foreign_write_fault();
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(ProgramSignalsTest, IgnoredSigsegvCannotIgnoreARealFault) {
  EXPECT_EXIT(
      {
        arm();
        signal(SIGSEGV, SIG_IGN);
        raise(SIGSEGV);  // ignored, as untraced
        foreign_write_fault();
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(ProgramSignalsTest, RaisedSignalReachesTheProgramsHandler) {
  arm();
  struct sigaction previous = install_recovering_handler(SIGSEGV);
  if (sigsetjmp(g_recovery, 1) == 0) raise(SIGSEGV);
  EXPECT_EQ(g_handler_calls.load(), 1);
  EXPECT_EQ(g_last_si_code.load(), SI_TKILL);
  sigaction(SIGSEGV, &previous, nullptr);
}

TEST_F(ProgramSignalsTest, ForeignSigbusGoesToTheDefaultAction) {
  EXPECT_EXIT(
      {
        arm();
        char path[] = "/tmp/mmiotrace-sigbus-XXXXXX";
        int fd = mkstemp(path);
        unlink(path);
        auto* beyond_end =
            static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
        store8(reinterpret_cast<uintptr_t>(beyond_end), 1);  // the file is empty: SIGBUS
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

TEST_F(ProgramSignalsTest, ProgramsBreakpointReachesItsSigtrapHandler) {
  arm();
  ASSERT_NE(signal(SIGTRAP, &count_and_return), SIG_ERR);
  g_handler_calls = 0;
  asm volatile("int3");
  EXPECT_EQ(g_handler_calls.load(), 1);
  signal(SIGTRAP, SIG_DFL);
}

TEST_F(ProgramSignalsTest, ProgramsBreakpointWithoutHandlerKillsWithSigtrap) {
  EXPECT_EXIT(
      {
        arm();
        asm volatile("int3");
      },
      ::testing::KilledBySignal(SIGTRAP), "");
}

TEST_F(ProgramSignalsTest, ResetHandRunsTheHandlerOnceThenTheDefault) {
  EXPECT_EXIT(
      {
        arm();
        struct sigaction action = {};
        action.sa_sigaction = &count_and_recover;
        action.sa_flags = SA_SIGINFO | SA_RESETHAND;
        sigaction(SIGSEGV, &action, nullptr);
        if (sigsetjmp(g_recovery, 1) == 0) foreign_write_fault();
        if (g_handler_calls.load() != 1) _exit(1);
        foreign_write_fault();
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

void check_mask_in_handler(int, siginfo_t*, void*) {
  sigset_t current;
  sigprocmask(SIG_BLOCK, nullptr, &current);
  // sa_mask is blocked, as the program asked; the fault signals never are under mmiotrace.
  g_handler_calls.store(
      sigismember(&current, SIGUSR1) == 1 && sigismember(&current, SIGSEGV) == 0 ? 1 : -1);
  siglongjmp(g_recovery, 1);
}

TEST_F(ProgramSignalsTest, ProgramsHandlerRunsWithTheMaskItAskedFor) {
  arm();
  struct sigaction action = {};
  action.sa_sigaction = &check_mask_in_handler;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR1);
  struct sigaction previous;
  sigaction(SIGSEGV, &action, &previous);
  g_handler_calls = 0;
  if (sigsetjmp(g_recovery, 1) == 0) foreign_write_fault();
  EXPECT_EQ(g_handler_calls.load(), 1);
  sigaction(SIGSEGV, &previous, nullptr);
}

TEST_F(ProgramSignalsTest, BlockingTheFaultSignalsDoesNotStopTracing) {
  arm();
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGSEGV);
  sigaddset(&block, SIGTRAP);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
  store32(memory_.address(16), 0x77);
  EXPECT_EQ(access_log().post_count(), 1u);
  sigset_t reported;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &reported), 0);
  EXPECT_EQ(sigismember(&reported, SIGSEGV), 0);
  EXPECT_EQ(sigismember(&reported, SIGTRAP), 0);
  ASSERT_EQ(sigprocmask(SIG_SETMASK, &old, nullptr), 0);
}

void touch_traced_memory(mmiotrace_probe* probe, const mmiotrace_access*, void*) {
  store32(probe->addr + 64, 1);
}

TEST_F(ProgramSignalsTest, FaultInsideAHandlerIsReportedNotADeadlock) {
  EXPECT_EXIT(
      {
        probe_.addr = memory_.address();
        probe_.len = 4096;
        probe_.pre_handler = &touch_traced_memory;
        mmiotrace_register_probe(&probe_);
        store32(memory_.address(), 1);
      },
      ::testing::KilledBySignal(SIGSEGV), "inside mmiotrace's own signal handler");
}

}  // namespace
}  // namespace mmiotrace::testing

namespace mmiotrace::testing {
namespace {

// The kernel's handler for `signo`, past the interposed sigaction().
uintptr_t kernel_handler(int signo) {
  struct sigaction current = {};
  kmmio::real_sigaction(signo, nullptr, &current);
  return reinterpret_cast<uintptr_t>(current.sa_sigaction);
}

std::atomic<int> g_relayed_calls{0};
std::atomic<int> g_relayed_usr2_blocked{0};
void count_relayed(int signo) {
  g_relayed_calls.fetch_add(1);
  sigset_t current;
  sigprocmask(SIG_BLOCK, nullptr, &current);
  g_relayed_usr2_blocked.store(sigismember(&current, SIGUSR2) == 1 ? 1 : 0);
  (void)signo;
}

// While diverting, the program's handlers run through the relay: the program still sees (and
// gets back) its own disposition, its handler runs with its mask, and SA_RESETHAND still makes
// the next delivery the default action.
TEST(SignalRelay, TheProgramSeesItsOwnHandlerWhichRunsWithItsMask) {
  EXPECT_EXIT(
      {
        mmiotrace_set_divert(1);
        struct sigaction action = {};
        action.sa_handler = &count_relayed;
        sigemptyset(&action.sa_mask);
        sigaddset(&action.sa_mask, SIGUSR2);
        if (sigaction(SIGUSR1, &action, nullptr) != 0) _exit(1);
        if (kernel_handler(SIGUSR1) == reinterpret_cast<uintptr_t>(&count_relayed)) _exit(2);
        struct sigaction seen = {};
        if (sigaction(SIGUSR1, nullptr, &seen) != 0 || seen.sa_handler != &count_relayed ||
            sigismember(&seen.sa_mask, SIGUSR2) != 1 || (seen.sa_flags & SA_SIGINFO) != 0) {
          _exit(3);
        }
        raise(SIGUSR1);
        if (g_relayed_calls.load() != 1 || g_relayed_usr2_blocked.load() != 1) _exit(4);
        // signal() gives back the program's previous handler, not the relay.
        if (signal(SIGUSR1, SIG_IGN) != &count_relayed) _exit(5);
        raise(SIGUSR1);  // ignored
        if (g_relayed_calls.load() != 1) _exit(6);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(SignalRelay, ResetHandIsHonouredThroughTheRelay) {
  EXPECT_EXIT(
      {
        mmiotrace_set_divert(1);
        struct sigaction action = {};
        action.sa_handler = &count_relayed;
        action.sa_flags = SA_RESETHAND;
        sigaction(SIGUSR1, &action, nullptr);
        raise(SIGUSR1);
        if (g_relayed_calls.load() != 1) _exit(1);
        struct sigaction seen = {};
        sigaction(SIGUSR1, nullptr, &seen);
        if (seen.sa_handler != SIG_DFL) _exit(2);
        raise(SIGUSR1);  // the default action: terminated by SIGUSR1
        _exit(3);
      },
      ::testing::KilledBySignal(SIGUSR1), "");
}

TEST(SignalRelay, HandlersInstalledBeforeDivertingAreRelayedFromThen) {
  EXPECT_EXIT(
      {
        struct sigaction action = {};
        action.sa_handler = &count_relayed;
        sigaction(SIGUSR1, &action, nullptr);
        if (kernel_handler(SIGUSR1) != reinterpret_cast<uintptr_t>(&count_relayed)) _exit(1);
        mmiotrace_set_divert(1);
        if (kernel_handler(SIGUSR1) == reinterpret_cast<uintptr_t>(&count_relayed)) _exit(2);
        raise(SIGUSR1);
        _exit(g_relayed_calls.load() == 1 ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

// A handler that runs translated code makes region look-ups of its own, which rewrite this
// thread's region cache; it may have interrupted a look-up half-way through writing its answer,
// or translated code between its check of the cache and its use. Stands for one: overwrites the
// cache as a look-up of another region would.
void overwrite_region_cache(int) {
  g_relayed_calls.fetch_add(1);
  codecache::RegionCache& cache = codecache::this_thread_region_cache();
  cache.low = 0x7000'0000;
  cache.delta = -0x1000;
  cache.generation = codecache::region_view().generation.load();
  cache.gap_low = 0;
  cache.gap_high = 0x1000;
}

TEST(SignalRelay, TheProgramsHandlerLeavesTheRegionCacheAsItFoundIt) {
  EXPECT_EXIT(
      {
        mmiotrace_set_divert(1);
        struct sigaction action = {};
        action.sa_handler = &overwrite_region_cache;
        sigaction(SIGUSR1, &action, nullptr);
        codecache::RegionCache& cache = codecache::this_thread_region_cache();
        // Half-way through an answer: stale, its region's start written, the rest not yet.
        cache.generation = 0;
        cache.low = 0x5000'0000;
        cache.delta = 0x2000;
        cache.gap_low = 0x100;
        cache.gap_high = 0x200;
        const codecache::RegionCache before = cache;
        raise(SIGUSR1);
        if (g_relayed_calls.load() != 1) _exit(1);
        _exit(std::memcmp(&before, &cache, sizeof(cache)) == 0 ? 0 : 2);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace mmiotrace::testing
