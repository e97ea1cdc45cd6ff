// Unit tests for recorder/recorder: traced mappings become MAP, R/W/UNKNOWN and UNMAP events.
#include "recorder/recorder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "kmmio/code_cache.hpp"
#include "test_support.hpp"
#include "trace/binary_format.hpp"

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

// Takes runs of logged accesses as the ring sink does (the binary format's encoder finds where
// each ends), and keeps the events that the encoded records hold; other events one by one.
class EncodingSink final : public trace::TraceSink {
 public:
  void write(const trace::Event& event) override { events.push_back(event); }
  size_t write_small_accesses(const trace::SmallAccessRun& run) override {
    const size_t count = std::min(run.count, trace::kMaxAccessRunEntries);
    std::vector<uint8_t> bytes(trace::access_run_size(count));
    size_t taken = 0;
    const size_t size = trace::encode_access_run(run, 0, count, bytes.data(), &taken);
    for (size_t offset = 0; offset < size;) {
      const char* why = nullptr;
      const size_t used = trace::decode_events(bytes.data() + offset, size - offset, &why,
                                               [&](const trace::Event& e) { events.push_back(e); });
      if (used == 0) {
        ADD_FAILURE() << why;
        break;
      }
      offset += used;
    }
    return taken;
  }
  std::vector<trace::Event> events;
};

std::atomic<int> g_own_handler_calls{0};
void own_handler(mmiotrace_probe*, const mmiotrace_access*, void*) {
  ++g_own_handler_calls;
}

// The code cache's flush hands a log whose records lie in many places to the probes: the
// recorder's mappings take theirs in batches, up to the first record that is not theirs.
TEST(Recorder, LoggedAccessesReachTheirOwnMappingsTraceAndNoOtherOne) {
  TestMemory memory(1);
  EncodingSink sink;
  recorder::Recorder recorder(sink);
  int error = 0;
  const uintptr_t base = memory.address();
  TracedMapping* low = recorder.start(spec_of(base, 0x800, 0x10000), 0, &error);
  ASSERT_NE(low, nullptr);
  TracedMapping* high = recorder.start(spec_of(base + 0x800, 0x400, 0x20000), 0, &error);
  ASSERT_NE(high, nullptr);
  mmiotrace_probe own = {};  // a probe with a handler of its own, after them
  own.addr = base + 0xc00;
  own.len = 0x100;
  own.pre_handler = &own_handler;
  ASSERT_EQ(kmmio::register_probe(&own, PROT_READ | PROT_WRITE), 0);
  g_own_handler_calls = 0;

  std::vector<AccessRecord> log;
  auto access = [&](uintptr_t address, uint64_t width, uint64_t pc, bool write) {
    log.push_back(
        {address, 0x1122334455667788 * (log.size() + 1), pc, width | (write ? kAccessWrite : 0)});
  };
  // A loop that runs from the low mapping on into the high one: one stream, then two.
  for (uintptr_t at = base + 0x800 - 8 * 40; at < base + 0x800 + 8 * 20; at += 8)
    access(at, 8, 0x401000, true);
  for (uintptr_t i = 0; i < 50; ++i) {
    access(base + 0x700 + 4 * i, 4, 0x401100, false);
    access(base + 0xb80 + 4 * i, 4, 0x401108, true);  // into the probe with its own handler
  }
  // A vector's access, its value in a continuation, then plain ones either side of no probe.
  access(base + 0x10, 16, 0x401200, false);
  log.push_back({0x0807060504030201, 0x100f0e0d0c0b0a09, 0, 0});
  access(base + 0x900, 2, 0x401300, true);
  access(base + 0xe00, 8, 0x401308, true);  // untraced: told to no one
  access(base + 0x7ff, 1, 0x401310, false);
  access(base + 0xc00, 8, 0x401400, true);
  access(base + 0x20, 8, 0x401408, true);
  auto own_probes = [&](const AccessRecord& record) {
    return (record.info & kAccessWidthMask) != 0 && record.address - own.addr < own.len;
  };
  const size_t first_own =
      static_cast<size_t>(std::find_if(log.begin(), log.end(), own_probes) - log.begin());
  ASSERT_EQ(first_own, 60u + 2 * 32 + 1);  // the second loop's 33rd access to 0xb80 on

  // A flush with only the general registers saved takes everything before the first access for
  // the probe with its own handler; the general one the rest.
  const size_t events_before = sink.events.size();
  EXPECT_EQ(kmmio::report_access_log_in_batches(log.data(), log.size(), 4321), first_own);
  kmmio::report_access_log(log.data() + first_own, log.size() - first_own, 4321);
  EXPECT_EQ(g_own_handler_calls.load(), std::count_if(log.begin(), log.end(), own_probes));

  size_t next = events_before;
  for (size_t i = 0; i < log.size(); ++i) {
    const AccessRecord& record = log[i];
    const uint64_t width = record.info & kAccessWidthMask;
    if (width == 0) continue;  // the continuation
    const TracedMapping* mapping = low->range.contains(record.address)    ? low
                                   : high->range.contains(record.address) ? high
                                                                          : nullptr;
    if (mapping == nullptr) continue;
    SCOPED_TRACE("access " + std::to_string(i));
    ASSERT_LT(next, sink.events.size());
    const trace::Event& event = sink.events[next++];
    EXPECT_EQ(event.map_id, mapping->map_id);
    EXPECT_EQ(event.virt, record.address);
    EXPECT_EQ(event.phys, mapping->phys + (record.address - mapping->range.begin));
    EXPECT_EQ(event.width, width);
    EXPECT_EQ(event.kind,
              record.info & kAccessWrite ? trace::EventKind::Write : trace::EventKind::Read);
    EXPECT_EQ(event.pc, record.pc);
    EXPECT_EQ(event.time_ns, 4321u);
    const void* value = width > 8 ? static_cast<const void*>(&log[i + 1])  // its continuation
                                  : static_cast<const void*>(&record.value);
    EXPECT_EQ(std::memcmp(event.value, value, width), 0);
  }
  EXPECT_EQ(next, sink.events.size());

  kmmio::unregister_probe(&own, kmmio::Disarm::RestoreProtection);
  recorder.stop(high, 0, kmmio::Disarm::RestoreProtection);
  recorder.stop(low, 0, kmmio::Disarm::RestoreProtection);
}

}  // namespace
}  // namespace mmiotrace::recorder
