// Unit tests for trace/trace_buffer, ring_sink and trace_drainer: what producers write comes
// out once, in each thread's order, wrapping around the rings; a full ring makes its producer
// wait (or, in drop mode, says where and how many events were lost); rings of exited threads
// are freed, and what a dead thread staged in its code-cache log is recovered with its ring.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "codecache/access_log.hpp"
#include "recorder/ring_sink.hpp"
#include "trace/binary_format.hpp"
#include "trace/trace_buffer.hpp"
#include "trace/trace_drainer.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::trace {
namespace {

// A TraceWriter that decodes what it receives and keeps the events.
class CollectingWriter final : public TraceWriter {
 public:
  explicit CollectingWriter(TraceFormat format = TraceFormat::Binary) : format_(format) {}
  TraceFormat format() const override { return format_; }
  void write_records(const uint8_t* records, size_t size) override {
    for (size_t offset = 0; offset < size;) {
      const char* why = nullptr;
      size_t used = decode_events(records + offset, size - offset, &why,
                                  [this](const Event& event) { write_event(event); });
      ASSERT_NE(used, 0u) << why;
      offset += used;
    }
  }
  void write_event(const Event& event) override {
    events.push_back(event);
    if (event.text) texts.emplace_back(event.text, event.text_length);
    events.back().text = nullptr;
  }
  void flush() override {}
  void close() override {}

  std::vector<Event> events;
  std::vector<std::string> texts;

 private:
  TraceFormat format_;
};

class TraceBufferTest : public ::testing::Test {
 protected:
  void make(uint32_t rings, uint64_t ring_bytes) {
    size_ = TraceBuffer::bytes_for(rings, ring_bytes);
    memory_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(memory_, MAP_FAILED);
    buffer_ = TraceBuffer::format(memory_, rings, ring_bytes);
    ASSERT_TRUE(buffer_.valid());
    buffer_.control().writer_pid.store(getpid());
  }
  void TearDown() override {
    if (memory_) munmap(memory_, size_);
  }
  static Event numbered(uint64_t number) {
    Event event;
    event.kind = EventKind::Write;
    event.width = 8;
    event.time_ns = number;
    event.pid = recorder::current_pid();
    event.tid = recorder::current_tid();
    std::memcpy(event.value, &number, 8);
    return event;
  }
  static uint64_t number_of(const Event& event) {
    uint64_t number;
    std::memcpy(&number, event.value, 8);
    return number;
  }

  void* memory_ = nullptr;
  size_t size_ = 0;
  TraceBuffer buffer_;
};

TEST_F(TraceBufferTest, AttachRefusesMemoryThatIsNotABuffer) {
  std::vector<uint8_t> junk(1 << 16, 0xab);
  EXPECT_FALSE(TraceBuffer::attach(junk.data(), junk.size()).valid());
  make(4, 1 << 16);
  EXPECT_TRUE(TraceBuffer::attach(memory_, size_).valid());
  EXPECT_FALSE(TraceBuffer::attach(memory_, size_ - 1).valid());
}

TEST_F(TraceBufferTest, RecordsComeOutOnceInOrderAcrossManyWrapArounds) {
  make(4, 1 << 16);
  recorder::RingSink sink(buffer_);
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  std::string long_text(3000, 'm');
  for (uint64_t i = 0; i < 20000; ++i) {
    sink.write(numbered(i));
    if (i % 777 == 0) {
      Event mark;
      mark.kind = EventKind::Mark;
      mark.text = long_text.c_str();
      mark.text_length = static_cast<uint32_t>(long_text.size());
      sink.write(mark);
    }
    if (i % 500 == 499) drainer.drain(writer);
  }
  drainer.drain(writer);
  uint64_t next = 0;
  size_t marks = 0;
  for (const Event& event : writer.events) {
    if (event.kind == EventKind::Mark) {
      ++marks;
      continue;
    }
    ASSERT_EQ(event.kind, EventKind::Write);
    ASSERT_EQ(number_of(event), next++);
  }
  EXPECT_EQ(next, 20000u);
  EXPECT_EQ(marks, 26u);
  for (const std::string& text : writer.texts)
    EXPECT_EQ(text, long_text);
}

TEST_F(TraceBufferTest, FullRingMakesItsProducerWaitAndLosesNothing) {
  make(4, 1 << 16);  // about a thousand records
  std::atomic<bool> done{false};
  CollectingWriter writer;
  std::thread drain([&] {
    TraceDrainer drainer(buffer_);
    while (!done.load()) {
      drainer.drain(writer);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    drainer.drain(writer);
  });
  recorder::RingSink sink(buffer_);
  constexpr uint64_t kEvents = 100000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kEvents; ++i)
      sink.write(numbered(i));
  });
  producer.join();
  done.store(true);
  drain.join();
  ASSERT_EQ(writer.events.size(), kEvents);
  for (uint64_t i = 0; i < kEvents; ++i)
    ASSERT_EQ(number_of(writer.events[i]), i);
}

// Runs of translated code's records: what write_small_accesses() puts in the ring.
std::vector<AccessRecord> logged_accesses(uint64_t first, size_t count) {
  std::vector<AccessRecord> records(count);
  for (size_t i = 0; i < count; ++i) {
    uint64_t number = first + i;
    records[i].address = 0x7f0000000000 + (number % 512) * 8;
    records[i].value = number;
    records[i].pc = 0x401000 + (number % 7);
    records[i].info = 8 | ((number % 3 == 0) ? kAccessWrite : 0);
  }
  return records;
}

SmallAccessRun run_of(const std::vector<AccessRecord>& records, uint64_t time_ns) {
  SmallAccessRun run;
  run.map_id = 5;
  run.virt_base = 0x7f0000000000;
  run.phys_base = 0xfe000000;
  run.time_ns = time_ns;
  run.pid = recorder::current_pid();
  run.tid = recorder::current_tid();
  run.records = records.data();
  run.count = records.size();
  return run;
}

void expect_logged_access(const Event& event, uint64_t number, uint64_t time_ns) {
  ASSERT_EQ(event.kind, number % 3 == 0 ? EventKind::Write : EventKind::Read) << number;
  ASSERT_EQ(event.width, 8u);
  uint64_t value;
  std::memcpy(&value, event.value, 8);
  ASSERT_EQ(value, number);
  ASSERT_EQ(event.virt, 0x7f0000000000 + (number % 512) * 8);
  ASSERT_EQ(event.phys, 0xfe000000 + (number % 512) * 8);
  ASSERT_EQ(event.pc, 0x401000 + (number % 7));
  ASSERT_EQ(event.map_id, 5);
  ASSERT_EQ(event.time_ns, time_ns);
  ASSERT_EQ(event.tid, recorder::current_tid());
}

TEST_F(TraceBufferTest, RunsOfLoggedAccessesComeOutWholeAndInOrderWhileTheWriterDrains) {
  make(4, 1 << 16);  // an access run of 256 records is 6 KiB: a few per ring, wrapping constantly
  std::atomic<bool> done{false};
  CollectingWriter writer;
  std::thread drain([&] {
    TraceDrainer drainer(buffer_);
    while (!done.load())
      drainer.drain(writer);
    drainer.drain(writer);
  });
  recorder::RingSink sink(buffer_);
  uint64_t next = 0;
  for (size_t round = 0; round < 400; ++round) {
    size_t count = round % 5 == 0 ? 1000 : 1 + round % 256;  // 1000: more than a run holds
    std::vector<AccessRecord> records = logged_accesses(next, count);
    sink.write_small_accesses(run_of(records, round));
    next += count;
  }
  done.store(true);
  drain.join();
  ASSERT_EQ(writer.events.size(), next);
  uint64_t number = 0;
  for (size_t round = 0; round < 400; ++round) {
    size_t count = round % 5 == 0 ? 1000 : 1 + round % 256;
    for (size_t i = 0; i < count; ++i, ++number) {
      expect_logged_access(writer.events[number], number, round);
    }
  }
}

// A text trace merges the rings by time: an access run, whose events share one time, goes
// between the records of other threads like any single record.
TEST_F(TraceBufferTest, TextDrainingPutsAccessRunsInTimeOrderAmongOtherThreadsRecords) {
  make(4, 1 << 16);
  recorder::RingSink sink(buffer_);
  std::vector<AccessRecord> early = logged_accesses(0, 3);
  std::vector<AccessRecord> late = logged_accesses(3, 700);  // two runs, one time
  std::thread other([&] {
    Event event = numbered(0);
    event.time_ns = 20;
    sink.write(event);
    sink.write_small_accesses(run_of(late, 40));
  });
  other.join();  // its ring keeps its records after it is gone, until they are drained
  sink.write_small_accesses(run_of(early, 10));
  Event event = numbered(0);
  event.time_ns = 30;
  sink.write(event);
  TraceDrainer drainer(buffer_);
  CollectingWriter writer(TraceFormat::Text);
  drainer.drain(writer);
  ASSERT_EQ(writer.events.size(), 3u + 1 + 1 + 700);
  std::vector<uint64_t> times;
  for (const Event& e : writer.events)
    times.push_back(e.time_ns);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  for (uint64_t i = 0; i < 3; ++i)
    expect_logged_access(writer.events[i], i, 10);
  EXPECT_EQ(writer.events[3].time_ns, 20u);
  EXPECT_EQ(writer.events[4].time_ns, 30u);
  EXPECT_EQ(writer.events[4].tid, recorder::current_tid());
  EXPECT_NE(writer.events[3].tid, recorder::current_tid());
  for (uint64_t i = 0; i < 700; ++i) {
    const Event& e = writer.events[5 + i];
    EXPECT_EQ(e.time_ns, 40u);
    EXPECT_EQ(e.tid, writer.events[3].tid);
    uint64_t value;
    std::memcpy(&value, e.value, 8);
    ASSERT_EQ(value, 3 + i);
  }
}

// The code cache hands a log whose records may lie in other mappings: the sink takes those up to
// the first that is not the run's, in the ring's reservation it lies in, and says how many.
TEST_F(TraceBufferTest, RunsOfLoggedAccessesEndAtTheFirstAccessThatIsNotTheirs) {
  make(4, 1 << 16);  // a reservation holds 680 records
  recorder::RingSink sink(buffer_);
  std::vector<AccessRecord> records = logged_accesses(0, 1000);
  SmallAccessRun run = run_of(records, 5);
  run.virt_size = 300 * 8;  // the mapping ends before the 300th
  EXPECT_EQ(sink.write_small_accesses(run), 300u);
  records[700].info = 16;  // a vector's access, in the second reservation
  run = run_of(records, 6);
  EXPECT_EQ(sink.write_small_accesses(run), 700u);
  buffer_.control().drop_when_full.store(1);  // one by one
  run = run_of(records, 7);
  run.virt_base += 8;  // the first record lies before it
  run.virt_size = 512 * 8;
  EXPECT_EQ(sink.write_small_accesses(run), 0u);
  run = run_of(records, 8);
  run.virt_size = 100 * 8;
  EXPECT_EQ(sink.write_small_accesses(run), 100u);
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  drainer.drain(writer);
  ASSERT_EQ(writer.events.size(), 300u + 700 + 100);
  for (size_t i = 0; i < 300; ++i)
    expect_logged_access(writer.events[i], i, 5);
  for (size_t i = 0; i < 700; ++i)
    expect_logged_access(writer.events[300 + i], i, 6);
  for (size_t i = 0; i < 100; ++i)
    expect_logged_access(writer.events[1000 + i], i, 8);
}

TEST_F(TraceBufferTest, LoggedAccessesInDropModeAreKeptOrCountedOneByOne) {
  make(4, 1 << 16);
  buffer_.control().drop_when_full.store(1);
  recorder::RingSink sink(buffer_);
  std::vector<AccessRecord> records = logged_accesses(0, 3000);  // far more than fit
  sink.write_small_accesses(run_of(records, 77));
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  drainer.drain(writer);
  size_t kept = writer.events.size();
  ASSERT_GT(kept, 500u);
  ASSERT_LT(kept, 3000u);
  for (size_t i = 0; i < kept; ++i)
    expect_logged_access(writer.events[i], i, 77);
  sink.write(numbered(1));
  drainer.drain(writer);
  ASSERT_EQ(writer.events.size(), kept + 2);
  EXPECT_EQ(writer.events[kept].kind, EventKind::Lost);
  EXPECT_EQ(writer.events[kept].length, 3000u - kept);
}

TEST_F(TraceBufferTest, DropModeSaysWhereAndHowManyEventsWereLost) {
  make(4, 1 << 16);
  buffer_.control().drop_when_full.store(1);
  recorder::RingSink sink(buffer_);
  for (uint64_t i = 0; i < 5000; ++i)
    sink.write(numbered(i));  // far more than fit
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  drainer.drain(writer);
  size_t kept = writer.events.size();
  ASSERT_GT(kept, 500u);
  ASSERT_LT(kept, 5000u);
  sink.write(numbered(5000));  // room again: the loss is reported first
  drainer.drain(writer);
  ASSERT_EQ(writer.events.size(), kept + 2);
  EXPECT_EQ(writer.events[kept].kind, EventKind::Lost);
  EXPECT_EQ(writer.events[kept].length, 5000u - kept);
  EXPECT_EQ(number_of(writer.events[kept + 1]), 5000u);
  for (size_t i = 0; i < kept; ++i)
    EXPECT_EQ(number_of(writer.events[i]), i);
}

// Producers wake the writer once a ring is half full, or, while the writer says records are
// streaming in (it will drain again shortly anyway), only once it is three quarters full.
TEST_F(TraceBufferTest, ProducersWakeAnIdleWriterAtHalfFullAndAStreamingOneAtThreeQuarters) {
  make(4, 1 << 16);
  int wakeups = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(wakeups, 0);
  buffer_.control().wakeup_fd.store(wakeups);
  auto woken = [&] {
    uint64_t count = 0;
    return read(wakeups, &count, sizeof(count)) == sizeof(count) ? count : 0;
  };
  recorder::RingSink sink(buffer_);
  const size_t record = record_size(numbered(0));
  const size_t to_half = (1 << 16) / 2 / record, to_three_quarters = (1 << 16) / 4 * 3 / record;
  for (bool streaming : {false, true}) {
    buffer_.control().writer_streaming.store(streaming);
    size_t written = 0;
    for (; written <= to_half; ++written)
      sink.write(numbered(written));
    EXPECT_EQ(woken(), streaming ? 0u : 1u) << (streaming ? "streaming" : "idle");
    for (; written <= to_three_quarters; ++written)
      sink.write(numbered(written));
    EXPECT_EQ(woken(), streaming ? 1u : 0u) << (streaming ? "streaming" : "idle");
    TraceDrainer drainer(buffer_);
    CollectingWriter writer;
    drainer.drain(writer);
    ASSERT_EQ(writer.events.size(), written);
  }
  buffer_.control().wakeup_fd.store(-1);
  close(wakeups);
}

// The writer drains again soon, and says so, while records stream in; it sleeps long, and
// tells producers to wake it, when a drain finds little; not at all when there is more.
TEST_F(TraceBufferTest, TheWriterWaitsLittleWhileRecordsStreamInAndLongWhenTheyDoNot) {
  make(4, 1 << 16);
  recorder::RingSink sink(buffer_);
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  for (uint64_t i = 0; i < 1000; ++i)
    sink.write(numbered(i));
  drainer.drain(writer);
  uint64_t wait = drainer.wait_ns();
  EXPECT_LE(wait, 20'000'000u);
  EXPECT_GT(wait, 0u);
  EXPECT_EQ(buffer_.control().writer_streaming.load(), 1u);
  drainer.drain(writer);       // nothing new
  sink.write(numbered(1000));  // published after the drain: no sleeping now
  EXPECT_EQ(drainer.wait_ns(), 0u);
  EXPECT_EQ(buffer_.control().writer_streaming.load(), 0u);
  drainer.drain(writer);
  drainer.drain(writer);
  EXPECT_EQ(drainer.wait_ns(), 20'000'000u);
  EXPECT_EQ(buffer_.control().writer_streaming.load(), 0u);
  EXPECT_EQ(writer.events.size(), 1001u);
}

TEST_F(TraceBufferTest, ProducerStopsWaitingWhenTheWriterIsGone) {
  make(4, 1 << 16);
  buffer_.control().writer_pid.store(0);  // nobody drains
  recorder::RingSink sink(buffer_);
  for (uint64_t i = 0; i < 3000; ++i)
    sink.write(numbered(i));  // must not hang
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  drainer.drain(writer);
  drainer.report_losses(writer);
  EXPECT_EQ(writer.events.back().kind, EventKind::Lost);
  EXPECT_EQ(writer.events.size() - 1 + writer.events.back().length, 3000u);
}

TEST_F(TraceBufferTest, RingOfAnExitedThreadIsFreedOnceDrained) {
  make(4, 1 << 16);
  recorder::RingSink sink(buffer_);
  std::thread([&] { sink.write(numbered(1)); }).join();
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  EXPECT_EQ(buffer_.control().rings[0].state.load(), kRingOwned);
  drainer.reclaim(writer);  // not drained yet: kept
  EXPECT_EQ(buffer_.control().rings[0].state.load(), kRingOwned);
  drainer.drain(writer);
  drainer.reclaim(writer);
  EXPECT_EQ(buffer_.control().rings[0].state.load(), kRingFree);
  EXPECT_EQ(writer.events.size(), 1u);
}

// What a thread staged in its code-cache log and did not hand over before it died (SIGKILL)
// is recovered with its ring: each record once (not those already handed over when it died),
// in the region it named, and what falls in no named region is counted as lost.
TEST_F(TraceBufferTest, StagedAccessesOfADeadThreadAreRecoveredOnceWithItsRing) {
  make(4, 1 << 16);
  recorder::RingSink sink(buffer_);
  std::vector<AccessRecord> records = logged_accesses(0, 6);
  records[5].address = 0x10000;  // outside every named region
  std::thread([&] {
    sink.write(numbered(100));  // claims ring 0
    StagedAccessLog& staged = buffer_.staged_log(0);
    staged.regions[0] = {0x7f0000000000, 0x1000, 0xfe000000, 5, 0};
    staged.regions[1] = {0x7f0000001000, 0x1000, 0xfd000000, 6, 0};
    staged.regions_named.store(2);
    std::copy(records.begin(), records.end(), staged.records);
    // It was handing the records over and had written the first two to its ring.
    staged.handing_since.store(buffer_.control().rings[0].head.load() + 1);
    std::vector<AccessRecord> handed(records.begin(), records.begin() + 2);
    sink.write_small_accesses(run_of(handed, 7));
  }).join();
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  drainer.drain(writer);
  drainer.reclaim(writer);
  EXPECT_EQ(buffer_.control().rings[0].state.load(), kRingFree);
  ASSERT_EQ(writer.events.size(), 1u + 2u + 3u + 1u);
  EXPECT_EQ(number_of(writer.events[0]), 100u);
  for (uint64_t number = 0; number < 5; ++number) {
    const Event& event = writer.events[1 + number];
    EXPECT_EQ(event.kind, number % 3 == 0 ? EventKind::Write : EventKind::Read) << number;
    EXPECT_EQ(event.virt, records[number].address);
    EXPECT_EQ(event.phys, 0xfe000000 + number * 8);
    EXPECT_EQ(event.map_id, 5);
    EXPECT_EQ(event.pc, records[number].pc);
    EXPECT_EQ(number_of(event), number);
    EXPECT_EQ(event.tid, writer.events[0].tid);
  }
  EXPECT_EQ(writer.events[6].kind, EventKind::Lost);
  EXPECT_EQ(writer.events[6].length, 1u);
  // Taken: the ring's next thread starts with an empty log, and nothing comes out twice.
  EXPECT_EQ(buffer_.staged_log(0).records[0].info, 0u);
  EXPECT_EQ(buffer_.staged_log(0).regions_named.load(), 0u);
  drainer.report_losses(writer);
  EXPECT_EQ(writer.events.size(), 7u);
}

TEST_F(TraceBufferTest, WithoutAFreeRingEventsAreCountedAsLost) {
  make(1, 1 << 16);
  recorder::RingSink sink(buffer_);
  sink.write(numbered(0));  // this thread takes the only ring
  std::thread([&] { sink.write(numbered(1)); }).join();
  TraceDrainer drainer(buffer_);
  CollectingWriter writer;
  drainer.drain(writer);
  drainer.report_losses(writer);
  ASSERT_EQ(writer.events.size(), 2u);
  EXPECT_EQ(writer.events[1].kind, EventKind::Lost);
  EXPECT_EQ(writer.events[1].length, 1u);
}

// The check: 8 producers, a million events each, every one present once, in order.
TEST_F(TraceBufferTest, EveryEventOfEightProducersArrivesOnceInProducerOrder) {
  make(16, 1 << 20);
  constexpr int kProducers = 8;
  constexpr uint64_t kEach = 1000000;
  std::atomic<bool> done{false};
  std::map<int, uint64_t> next;  // tid -> next number expected
  uint64_t total = 0;
  bool in_order = true;
  class CheckingWriter final : public TraceWriter {
   public:
    CheckingWriter(std::map<int, uint64_t>& next, uint64_t& total, bool& in_order)
        : next_(next), total_(total), in_order_(in_order) {}
    TraceFormat format() const override { return TraceFormat::Binary; }
    void write_records(const uint8_t* records, size_t size) override {
      for (size_t offset = 0; offset < size;) {
        const char* why = nullptr;
        size_t used = decode_events(records + offset, size - offset, &why,
                                    [this](const Event& event) { write_event(event); });
        if (used == 0) {
          in_order_ = false;
          return;
        }
        offset += used;
      }
    }
    void write_event(const Event& event) override {
      uint64_t number;
      std::memcpy(&number, event.value, 8);
      if (number != next_[event.tid]++) in_order_ = false;
      ++total_;
    }
    void flush() override {}
    void close() override {}

   private:
    std::map<int, uint64_t>& next_;
    uint64_t& total_;
    bool& in_order_;
  } writer(next, total, in_order);
  std::thread drain([&] {
    TraceDrainer drainer(buffer_);
    while (!done.load()) {
      drainer.drain(writer);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    drainer.drain(writer);
  });
  recorder::RingSink sink(buffer_);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] {
      for (uint64_t i = 0; i < kEach; ++i)
        sink.write(numbered(i));
    });
  }
  for (auto& producer : producers)
    producer.join();
  done.store(true);
  drain.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(total, kProducers * kEach);
  EXPECT_EQ(next.size(), static_cast<size_t>(kProducers));
  for (const auto& [tid, count] : next)
    EXPECT_EQ(count, kEach) << "thread " << tid;
}

}  // namespace
}  // namespace mmiotrace::trace
