// Unit tests for recorder/recorder: traced mappings become MAP, R/W/UNKNOWN and UNMAP events.
#include "recorder/recorder.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "test_support.hpp"

namespace mmiotrace::recorder {
namespace {

using mmiotrace::testing::TestMemory;

// Keeps events in a fixed array: write() runs in signal handlers.
class CapturingSink final : public trace::TraceSink {
 public:
  void write(const trace::Event& event) override {
    size_t slot = count_.fetch_add(1);
    if (slot < 64) events_[slot] = event;
  }
  size_t size() const { return count_.load(); }
  const trace::Event& operator[](size_t i) const { return events_[i]; }

 private:
  std::atomic<size_t> count_{0};
  trace::Event events_[64];
};

MappingSpec spec_of(uintptr_t address, size_t size, uint64_t phys = 0) {
  MappingSpec spec;
  spec.range = AddressRange::from_size(address, size);
  spec.phys = phys;
  return spec;
}

TEST(Recorder, MappingIsFramedByMapAndUnmapWithAccessesInBetween) {
  TestMemory memory(2);
  CapturingSink sink;
  recorder::Recorder recorder(sink);
  int error = -1;
  recorder::TracedMapping* mapping = recorder.start(
      {AddressRange::from_size(memory.address(), 8192), 0xfe000000, PROT_READ | PROT_WRITE},
      0x401000, &error);
  ASSERT_NE(mapping, nullptr);
  EXPECT_EQ(error, 0);
  testing::store16(memory.address(0x1002), 0xabcd);
  EXPECT_EQ(testing::load16(memory.address(0x1002)), 0xabcd);
  asm volatile("incl (%0)" ::"r"(memory.address(0x10)) : "memory", "cc");
  int map_id = mapping->map_id;
  recorder.stop(mapping, 0x402000, kmmio::Disarm::RestoreProtection);

  ASSERT_EQ(sink.size(), 6u);
  EXPECT_EQ(sink[0].kind, trace::EventKind::Map);
  EXPECT_EQ(sink[0].map_id, map_id);
  EXPECT_GT(map_id, 0);
  EXPECT_EQ(sink[0].phys, 0xfe000000u);
  EXPECT_EQ(sink[0].virt, memory.address());
  EXPECT_EQ(sink[0].length, 8192u);
  EXPECT_EQ(sink[0].pc, 0x401000u);
  EXPECT_EQ(sink[0].pid, getpid());

  EXPECT_EQ(sink[1].kind, trace::EventKind::Write);
  EXPECT_EQ(sink[1].width, 2);
  EXPECT_EQ(sink[1].phys, 0xfe001002u);
  EXPECT_EQ(sink[1].virt, memory.address(0x1002));
  EXPECT_EQ(sink[1].value[0], 0xcd);
  EXPECT_EQ(sink[1].value[1], 0xab);
  EXPECT_EQ(sink[1].tid, gettid());
  EXPECT_NE(sink[1].pc, 0u);

  EXPECT_EQ(sink[2].kind, trace::EventKind::Read);
  EXPECT_EQ(sink[2].phys, 0xfe001002u);

  // INC is a read-modify-write: one read, then one write.
  EXPECT_EQ(sink[3].kind, trace::EventKind::Read);
  EXPECT_EQ(sink[3].phys, 0xfe000010u);
  EXPECT_EQ(sink[3].value[0], 0x00);
  EXPECT_EQ(sink[4].kind, trace::EventKind::Write);
  EXPECT_EQ(sink[4].value[0], 0x01);
  EXPECT_EQ(sink[3].pc, sink[4].pc);

  EXPECT_EQ(sink[5].kind, trace::EventKind::Unmap);
  EXPECT_EQ(sink[5].map_id, map_id);
  EXPECT_EQ(sink[5].pc, 0x402000u);
  EXPECT_LE(sink[0].time_ns, sink[1].time_ns);
  EXPECT_LE(sink[4].time_ns, sink[5].time_ns);
}

TEST(Recorder, SingleSteppedInstructionWithoutKnownValueIsUnknown) {
  TestMemory memory(1);
  CapturingSink sink;
  recorder::Recorder recorder(sink);
  ASSERT_EQ(mmiotrace_set_strategy(MMIOTRACE_STRATEGY_SINGLE_STEP), 0);
  int error = 0;
  recorder::TracedMapping* mapping =
      recorder.start(spec_of(memory.address(), 4096, 0x100), 0, &error);
  ASSERT_NE(mapping, nullptr);
  asm volatile("incl (%0)" ::"r"(memory.address(0x10)) : "memory", "cc");
  recorder.stop(mapping, 0, kmmio::Disarm::RestoreProtection);
  ASSERT_EQ(mmiotrace_set_strategy(MMIOTRACE_STRATEGY_EMULATE), 0);
  ASSERT_EQ(sink.size(), 3u);
  EXPECT_EQ(sink[1].kind, trace::EventKind::Unknown);
  EXPECT_EQ(sink[1].phys, 0x110u);
  EXPECT_EQ(sink[1].insn[0], 0xff);  // inc r/m32
}

TEST(Recorder, MapIdsIncrease) {
  int first = recorder::next_map_id();
  int second = recorder::next_map_id();
  EXPECT_GT(first, 0);
  EXPECT_EQ(second, first + 1);
}

TEST(Recorder, AttachedPieceKeepsTheMapIdAndItsPhysicalOffset) {
  TestMemory memory(1);
  CapturingSink sink;
  recorder::Recorder recorder(sink);
  int error = 0;
  recorder::TracedMapping* piece = recorder.attach(
      7, {AddressRange::from_size(memory.address(), 4096), 0x1000, PROT_READ | PROT_WRITE}, &error);
  ASSERT_NE(piece, nullptr);
  testing::store8(memory.address(3), 1);
  recorder.detach(piece, kmmio::Disarm::RestoreProtection);
  ASSERT_EQ(sink.size(), 1u);
  EXPECT_EQ(sink[0].map_id, 7);
  EXPECT_EQ(sink[0].phys, 0x1003u);
}

TEST(Recorder, FailedRegistrationEndsTheMappingItAnnounced) {
  TestMemory memory(1);
  CapturingSink sink;
  recorder::Recorder recorder(sink);
  int error = 0;
  recorder::TracedMapping* first = recorder.start(spec_of(memory.address(), 4096), 0, &error);
  ASSERT_NE(first, nullptr);
  recorder::TracedMapping* overlapping = recorder.start(spec_of(memory.address(), 16), 0, &error);
  EXPECT_EQ(overlapping, nullptr);
  EXPECT_EQ(error, -EEXIST);
  ASSERT_EQ(sink.size(), 3u);
  EXPECT_EQ(sink[1].kind, trace::EventKind::Map);
  EXPECT_EQ(sink[2].kind, trace::EventKind::Unmap);
  EXPECT_EQ(sink[2].map_id, sink[1].map_id);
  recorder.stop(first, 0, kmmio::Disarm::RestoreProtection);
}

TEST(Recorder, MarkCarriesItsText) {
  CapturingSink sink;
  recorder::Recorder recorder(sink);
  recorder.mark("hello", 5);
  ASSERT_EQ(sink.size(), 1u);
  EXPECT_EQ(sink[0].kind, trace::EventKind::Mark);
  EXPECT_EQ(std::string(sink[0].text, sink[0].text_length), "hello");
}

}  // namespace
}  // namespace mmiotrace::recorder
