// Unit tests for kmmio's probe registry: registering, overlapping, arming, counting shared
// pages, restoring protection, matching on the faulting address.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "mmiotrace/mmiotrace.hpp"
#include "test_support.hpp"

namespace mmiotrace::testing {
namespace {

class ProbeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(memory_.base(), nullptr);
    access_log().clear();
  }
  mmiotrace_probe make_probe(size_t offset, size_t length) {
    return mmiotrace_probe{memory_.address(offset), length, nullptr, &log_post, nullptr, 0};
  }
  TestMemory memory_{4};
};

TEST_F(ProbeRegistryTest, RegisteredRangeIsArmedAndUnregisterRestoresProtection) {
  mmiotrace_probe probe = make_probe(0, 4096);
  ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
  EXPECT_EQ(page_protection(memory_.address()), PROT_NONE);
  EXPECT_EQ(mmiotrace_probe_count(), 1u);
  ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);
  EXPECT_EQ(page_protection(memory_.address()), PROT_READ | PROT_WRITE);
  EXPECT_EQ(mmiotrace_probe_count(), 0u);
}

TEST_F(ProbeRegistryTest, ContentIsUntouchedByArmingAndDisarming) {
  for (size_t i = 0; i < memory_.size(); ++i)
    memory_.base()[i] = static_cast<uint8_t>(i * 7);
  mmiotrace_probe probe = make_probe(0, memory_.size());
  ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
  ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);
  for (size_t i = 0; i < memory_.size(); ++i) {
    ASSERT_EQ(memory_.base()[i], static_cast<uint8_t>(i * 7)) << "byte " << i;
  }
}

TEST_F(ProbeRegistryTest, OwnProtectionOfEachPageIsRestored) {
  ASSERT_EQ(mprotect(memory_.base() + 4096, 4096, PROT_READ), 0);
  mmiotrace_probe probe = make_probe(0, 3 * 4096);
  ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
  ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);
  EXPECT_EQ(page_protection(memory_.address(0)), PROT_READ | PROT_WRITE);
  EXPECT_EQ(page_protection(memory_.address(4096)), PROT_READ);
  EXPECT_EQ(page_protection(memory_.address(8192)), PROT_READ | PROT_WRITE);
}

TEST_F(ProbeRegistryTest, OverlappingProbeFailsWithEexist) {
  mmiotrace_probe first = make_probe(0x100, 0x100);
  mmiotrace_probe overlapping = make_probe(0x1ff, 0x10);
  mmiotrace_probe containing = make_probe(0, 0x1000);
  mmiotrace_probe inside = make_probe(0x180, 0x8);
  ASSERT_EQ(mmiotrace_register_probe(&first), 0);
  EXPECT_EQ(mmiotrace_register_probe(&overlapping), -EEXIST);
  EXPECT_EQ(mmiotrace_register_probe(&containing), -EEXIST);
  EXPECT_EQ(mmiotrace_register_probe(&inside), -EEXIST);
  EXPECT_EQ(mmiotrace_probe_count(), 1u);
  EXPECT_EQ(mmiotrace_unregister_probe(&first), 0);
}

TEST_F(ProbeRegistryTest, AdjacentProbesDoNotOverlap) {
  mmiotrace_probe low = make_probe(0x100, 0x100);
  mmiotrace_probe high = make_probe(0x200, 0x100);
  ASSERT_EQ(mmiotrace_register_probe(&low), 0);
  EXPECT_EQ(mmiotrace_register_probe(&high), 0);
  EXPECT_EQ(mmiotrace_unregister_probe(&high), 0);
  EXPECT_EQ(mmiotrace_unregister_probe(&low), 0);
}

TEST_F(ProbeRegistryTest, SharedPageStaysArmedUntilBothProbesAreGone) {
  mmiotrace_probe a = make_probe(0x000, 0x100);
  mmiotrace_probe b = make_probe(0x800, 0x100);
  a.user_data = reinterpret_cast<void*>(1);
  b.user_data = reinterpret_cast<void*>(2);
  ASSERT_EQ(mmiotrace_register_probe(&a), 0);
  ASSERT_EQ(mmiotrace_register_probe(&b), 0);
  ASSERT_EQ(mmiotrace_unregister_probe(&a), 0);
  EXPECT_EQ(page_protection(memory_.address()), PROT_NONE);

  store32(memory_.address(0x010), 0xaaaa);  // a's range: no longer traced
  store32(memory_.address(0x810), 0xbbbb);  // b's range: traced
  ASSERT_EQ(access_log().post_count(), 1u);
  EXPECT_EQ(access_log().nth_post(0)->user_data, reinterpret_cast<void*>(2));
  EXPECT_EQ(access_log().nth_post(0)->access.address, memory_.address(0x810));

  ASSERT_EQ(mmiotrace_unregister_probe(&b), 0);
  EXPECT_EQ(page_protection(memory_.address()), PROT_READ | PROT_WRITE);
  EXPECT_EQ(load32(memory_.address(0x010)), 0xaaaau);
  EXPECT_EQ(load32(memory_.address(0x810)), 0xbbbbu);
}

TEST_F(ProbeRegistryTest, ProbesAreMatchedOnTheFaultingAddressNotThePage) {
  // An unaligned probe: the kernel's tracer loses the first page of such a mapping.
  mmiotrace_probe probe = make_probe(0x800, 0x1000);
  ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
  store32(memory_.address(0x900), 0x1234);   // first page, inside the probe
  store32(memory_.address(0x010), 0x5678);   // first page, before the probe
  store32(memory_.address(0x1700), 0x9abc);  // second page, inside
  store32(memory_.address(0x1900), 0xdef0);  // second page, after the probe
  ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);

  ASSERT_EQ(access_log().post_count(), 2u);
  EXPECT_EQ(access_log().nth_post(0)->access.address, memory_.address(0x900));
  EXPECT_EQ(access_log().nth_post(1)->access.address, memory_.address(0x1700));
  EXPECT_EQ(load32(memory_.address(0x010)), 0x5678u);
  EXPECT_EQ(load32(memory_.address(0x1900)), 0xdef0u);
}

TEST_F(ProbeRegistryTest, InvalidProbesAreRefused) {
  mmiotrace_probe empty = make_probe(0, 0);
  EXPECT_EQ(mmiotrace_register_probe(&empty), -EINVAL);
  mmiotrace_probe wrapping = {~uintptr_t{0} - 10, 100, nullptr, nullptr, nullptr, 0};
  EXPECT_EQ(mmiotrace_register_probe(&wrapping), -EINVAL);
  EXPECT_EQ(mmiotrace_register_probe(nullptr), -EINVAL);
}

TEST_F(ProbeRegistryTest, UnmappedRangeFailsWithEnomemAndLeavesNothingBehind) {
  TestMemory hole(1);
  uintptr_t unmapped = hole.address();
  munmap(hole.base(), hole.size());
  mmiotrace_probe probe = {unmapped, 4096, nullptr, nullptr, nullptr, 0};
  EXPECT_EQ(mmiotrace_register_probe(&probe), -ENOMEM);
  EXPECT_EQ(mmiotrace_probe_count(), 0u);
  mmap(reinterpret_cast<void*>(unmapped), 4096, PROT_READ | PROT_WRITE,
       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);  // give TestMemory something to unmap
}

TEST_F(ProbeRegistryTest, UnregisteringAnUnknownProbeFailsWithEnoent) {
  mmiotrace_probe probe = make_probe(0, 16);
  EXPECT_EQ(mmiotrace_unregister_probe(&probe), -ENOENT);
}

void register_from_handler(mmiotrace_probe* probe, const mmiotrace_access*, void*) {
  auto* result = static_cast<std::atomic<int>*>(probe->user_data);
  mmiotrace_probe other = {0x1000, 16, nullptr, nullptr, nullptr, 0};
  result->store(mmiotrace_register_probe(&other));
}

TEST_F(ProbeRegistryTest, RegisteringFromAHandlerFailsWithEdeadlk) {
  std::atomic<int> result{1};
  mmiotrace_probe probe = {memory_.address(), 64, &register_from_handler, nullptr, &result, 0};
  ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
  store8(memory_.address(), 1);
  ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);
  EXPECT_EQ(result.load(), -EDEADLK);
}

TEST_F(ProbeRegistryTest, ScopedProbeDisarmsAtTheEndOfItsScope) {
  {
    ScopedProbe probe(memory_.base(), 4096, nullptr, &log_post);
    ASSERT_FALSE(probe.status());
    EXPECT_EQ(page_protection(memory_.address()), PROT_NONE);
    store16(memory_.address(2), 0x4321);
  }
  EXPECT_EQ(page_protection(memory_.address()), PROT_READ | PROT_WRITE);
  EXPECT_EQ(access_log().post_count(), 1u);
}

// Handlers look the table up without locks while other threads register and unregister.
TEST_F(ProbeRegistryTest, LookupStaysCorrectWhileOtherThreadsRegisterAndUnregister) {
  TestMemory other(8);
  mmiotrace_probe traced = make_probe(0, 4096);
  ASSERT_EQ(mmiotrace_register_probe(&traced), 0);
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int round = 0; !stop.load(); ++round) {
      mmiotrace_probe probe = {
          other.address((round % 8) * 4096 + 16 * (round % 16)), 64, nullptr, nullptr, nullptr, 0};
      ASSERT_EQ(mmiotrace_register_probe(&probe), 0);
      ASSERT_EQ(mmiotrace_unregister_probe(&probe), 0);
    }
  });
  constexpr int kAccesses = 2000;
  for (int i = 0; i < kAccesses; ++i) {
    store32(memory_.address(4 * (i % 1000)), static_cast<uint32_t>(i));
  }
  stop.store(true);
  churn.join();
  ASSERT_EQ(mmiotrace_unregister_probe(&traced), 0);
  ASSERT_EQ(access_log().post_count(), static_cast<size_t>(kAccesses));
  for (int i = 0; i < kAccesses; ++i) {
    const SeenAccess* seen = access_log().nth_post(static_cast<size_t>(i));
    ASSERT_EQ(seen->access.value.u64 & 0xffffffff, static_cast<uint64_t>(i));
  }
}

}  // namespace
}  // namespace mmiotrace::testing
