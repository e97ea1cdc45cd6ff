// Unit tests for the Replay backend: reads served from the recorded accesses in order, writes
// compared, wide accesses matched against the 8-byte lines of a text trace, and the first
// divergence written to the script before the process is killed.
#include "backend/replay_backend.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <csignal>
#include <cstring>
#include <new>

#include "arch/guarded_access_status.hpp"

namespace mmiotrace::backend {
namespace {

// A script in shared memory (so that a child killed by a divergence leaves its verdict).
class Script {
 public:
  explicit Script(const std::vector<ReplayAccess>& accesses) {
    size_ = ReplayHeader::bytes_for(accesses.size());
    void* memory = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    header_ = new (memory) ReplayHeader();
    header_->map_count = 1;
    ReplayMap& map = header_->maps[0];
    map.map_id = 3;
    map.length = 4096;
    map.count = accesses.size();
    for (size_t i = 0; i < accesses.size(); ++i)
      new (&header_->accesses()[i]) ReplayAccess(accesses[i]);
  }
  ~Script() { munmap(header_, size_); }
  ReplayHeader& header() { return *header_; }
  ReplayMap& map() { return header_->maps[0]; }

 private:
  ReplayHeader* header_;
  size_t size_;
};

ReplayAccess access(bool write, uint64_t offset, uint8_t width, uint64_t value) {
  ReplayAccess recorded;
  recorded.write = write ? 1 : 0;
  recorded.width = width;
  recorded.offset = offset;
  std::memcpy(recorded.value, &value, width < 8 ? width : 8);
  return recorded;
}

TEST(ReplayBackend, ReadsGetTheRecordedValuesAndMatchingWritesPass) {
  Script script(
      {access(false, 0x1c, 4, 0), access(false, 0x1c, 4, 1), access(true, 0x14, 4, 0x460001)});
  ReplayBackend backend(script.header(), script.map(), 0);
  uint32_t value = 99;
  EXPECT_EQ(backend.read(0x1c, 4, reinterpret_cast<uint8_t*>(&value)), arch::kGuardedOk);
  EXPECT_EQ(value, 0u);
  EXPECT_EQ(backend.read(0x1c, 4, reinterpret_cast<uint8_t*>(&value)), arch::kGuardedOk);
  EXPECT_EQ(value, 1u);
  value = 0x460001;
  EXPECT_EQ(backend.write(0x14, 4, reinterpret_cast<uint8_t*>(&value)), arch::kGuardedOk);
  EXPECT_EQ(script.map().next.load(), 3u);
  EXPECT_EQ(script.header().diverged.load(), 0u);
}

TEST(ReplayBackend, AWideAccessMatchesTheEightByteLinesOfATextTrace) {
  Script script({access(true, 0x100, 8, 0x1111), access(true, 0x108, 8, 0x2222)});
  ReplayBackend backend(script.header(), script.map(), 0x100);  // a mapping starting at 0x100
  uint64_t wide[2] = {0x1111, 0x2222};
  EXPECT_EQ(backend.write(0, 16, reinterpret_cast<uint8_t*>(wide)), arch::kGuardedOk);
  EXPECT_EQ(script.map().next.load(), 2u);
}

TEST(ReplayBackend, TheFirstDifferenceIsWrittenDownAndTheProcessKilled) {
  Script script({access(false, 0, 4, 7), access(true, 0x14, 4, 0x460001)});
  ReplayBackend backend(script.header(), script.map(), 0);
  EXPECT_EXIT(
      {
        uint32_t value;
        backend.read(0, 4, reinterpret_cast<uint8_t*>(&value));
        value = 0x460000;
        backend.write(0x14, 4, reinterpret_cast<uint8_t*>(&value));
        _exit(0);  // not reached
      },
      ::testing::KilledBySignal(SIGKILL), "");
  ASSERT_EQ(script.header().diverged.load(), 2u);
  const ReplayDivergence& divergence = script.header().divergence;
  EXPECT_EQ(divergence.map_id, 3);
  EXPECT_EQ(divergence.reason, DivergenceReason::Mismatch);
  EXPECT_EQ(divergence.index, 1u);
  EXPECT_EQ(divergence.actual.write, 1);
  EXPECT_EQ(divergence.actual.offset, 0x14u);
  uint32_t written;
  std::memcpy(&written, divergence.actual.value, 4);
  EXPECT_EQ(written, 0x460000u);
}

TEST(ReplayBackend, AnAccessAfterTheLastRecordedOneDiverges) {
  Script script({access(false, 0, 4, 7)});
  ReplayBackend backend(script.header(), script.map(), 0);
  EXPECT_EXIT(
      {
        uint32_t value;
        backend.read(0, 4, reinterpret_cast<uint8_t*>(&value));
        backend.read(0, 4, reinterpret_cast<uint8_t*>(&value));
        _exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  EXPECT_EQ(script.header().divergence.reason, DivergenceReason::PastTheEnd);
  EXPECT_EQ(script.header().divergence.index, 1u);
}

}  // namespace
}  // namespace mmiotrace::backend
