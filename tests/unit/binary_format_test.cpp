// Unit tests for trace/binary_format: every kind of record survives encoding and decoding, and
// malformed records are refused with a reason.
#include "trace/binary_format.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codecache/access_log.hpp"

namespace mmiotrace::trace {
namespace {

Event round_trip(const Event& event) {
  uint8_t record[kMaxRecordSize];
  size_t size = encode_record(event, record);
  EXPECT_EQ(size, record_size(event));
  EXPECT_EQ(size % 8, 0u);
  Event decoded;
  const char* why = nullptr;
  EXPECT_EQ(decode_record(record, size, &decoded, &why), size) << (why ? why : "");
  return decoded;
}

Event sample(EventKind kind) {
  Event event;
  event.kind = kind;
  event.map_id = 7;
  event.pid = 1234;
  event.tid = 1240;
  event.time_ns = 987654321012;
  event.pc = 0x401122;
  event.phys = 0xfe000010;
  event.virt = 0x7f0000000010;
  return event;
}

TEST(BinaryFormat, AccessesOfEveryWidthKeepTheirWholeValue) {
  for (unsigned width : {1u, 2u, 4u, 8u, 16u, 32u, 64u}) {
    Event event = sample(EventKind::Write);
    event.width = static_cast<uint8_t>(width);
    for (unsigned i = 0; i < width; ++i)
      event.value[i] = static_cast<uint8_t>(0xa0 + i);
    Event decoded = round_trip(event);
    EXPECT_EQ(decoded.kind, EventKind::Write);
    EXPECT_EQ(decoded.width, width);
    EXPECT_EQ(std::memcmp(decoded.value, event.value, width), 0);
    EXPECT_EQ(decoded.phys, event.phys);
    EXPECT_EQ(decoded.virt, event.virt);
    EXPECT_EQ(decoded.pc, event.pc);
    EXPECT_EQ(decoded.pid, event.pid);
    EXPECT_EQ(decoded.tid, event.tid);
    EXPECT_EQ(decoded.time_ns, event.time_ns);
    EXPECT_EQ(decoded.map_id, event.map_id);
  }
  EXPECT_EQ(record_size([] {
              Event read = sample(EventKind::Read);
              read.width = 4;
              return read;
            }()),
            56u);
}

// A TraceSink that keeps what it is given: its write_small_accesses() is the event-by-event
// one, what every sink but the rings does.
class KeepingSink final : public TraceSink {
 public:
  void write(const Event& event) override { events.push_back(event); }
  std::vector<Event> events;
};

std::vector<AccessRecord> every_kind_of_small_access() {
  std::vector<AccessRecord> records;
  uint64_t n = 0;
  for (bool write : {false, true}) {
    for (uint64_t width : {1u, 2u, 4u, 8u, 3u}) {
      AccessRecord record;
      record.address = 0x7f0000001000 + 8 * n + width;
      record.value = 0xdeadbeefcafef00d + n;  // bytes past `width` must not reach the record
      record.pc = 0x7f1122334455 + n;
      record.info = width | (write ? kAccessWrite : 0);
      records.push_back(record);
      ++n;
    }
  }
  records.push_back({0x00ff'ffff'ffff'fff8, 1, 2, 8});  // the highest address an entry holds
  return records;
}

SmallAccessRun run_of(const std::vector<AccessRecord>& records) {
  SmallAccessRun run;
  run.map_id = -3;  // negative ids must keep their sign bits
  run.virt_base = 0x7f0000001000;
  run.phys_base = 0xfe001000;
  run.time_ns = 0x0102030405060708;
  run.pid = static_cast<int32_t>(0x8899aabb);
  run.tid = 0x11223344;
  run.records = records.data();
  run.count = records.size();
  return run;
}

void expect_same_access(const Event& got, const Event& want, size_t i) {
  EXPECT_EQ(got.kind, want.kind) << i;
  EXPECT_EQ(got.width, want.width) << i;
  EXPECT_EQ(std::memcmp(got.value, want.value, want.width), 0) << i;
  for (unsigned b = want.width; b < 8; ++b)
    EXPECT_EQ(got.value[b], 0) << i;
  EXPECT_EQ(got.map_id, want.map_id) << i;
  EXPECT_EQ(got.pid, want.pid) << i;
  EXPECT_EQ(got.tid, want.tid) << i;
  EXPECT_EQ(got.time_ns, want.time_ns) << i;
  EXPECT_EQ(got.pc, want.pc) << i;
  EXPECT_EQ(got.phys, want.phys) << i;
  EXPECT_EQ(got.virt, want.virt) << i;
}

// What translated code logs: 1, 2, 4 and 8 bytes, near the mapping's start and 4 GiB above it,
// PCs up to the compact form's reach either side of the first.
std::vector<AccessRecord> compact_accesses() {
  std::vector<AccessRecord> records;
  const uint64_t base_pc = 0x401000 + (uint64_t{1} << 28);
  const uint64_t pcs[] = {base_pc, base_pc - (uint64_t{1} << 28), base_pc + (uint64_t{1} << 28) - 1,
                          base_pc + 3};
  uint64_t n = 0;
  for (bool write : {false, true}) {
    for (uint64_t width : {1u, 2u, 4u, 8u}) {
      for (uint64_t offset : {uint64_t{0}, 0xffff'fff8 - 8 * n}) {
        AccessRecord record;
        record.address = 0x7f0000001000 + offset;
        record.value = 0xdeadbeefcafef00d * (n + 1);  // bytes past `width` must not reach it
        record.pc = pcs[n % 4];
        record.info = width | (write ? kAccessWrite : 0);
        records.push_back(record);
        ++n;
      }
    }
  }
  return records;
}

// Encodes `records` as one access run, checks its entries have `entry_size` bytes, and that its
// events are those the event-by-event path makes of them.
void expect_run_holds_the_accesses(const std::vector<AccessRecord>& records, size_t entry_size) {
  SmallAccessRun run = run_of(records);
  KeepingSink one_by_one;
  one_by_one.TraceSink::write_small_accesses(run);
  ASSERT_EQ(one_by_one.events.size(), records.size());
  std::vector<uint8_t> made(kMaxRecordSize, 0x5a);
  size_t size = encode_access_run(run, 0, records.size(), made.data());
  EXPECT_EQ(size, access_run_size(records.size(), entry_size));
  EXPECT_EQ(size % 8, 0u);
  EXPECT_EQ(record_event_count(made.data()), records.size());
  std::vector<Event> decoded;
  const char* why = nullptr;
  EXPECT_EQ(decode_events(made.data(), size, &why, [&](const Event& e) { decoded.push_back(e); }),
            size)
      << (why ? why : "");
  ASSERT_EQ(decoded.size(), records.size());
  for (size_t i = 0; i < decoded.size(); ++i) {
    expect_same_access(decoded[i], one_by_one.events[i], i);
  }
}

TEST(BinaryFormat, AnAccessRunHoldsExactlyTheEventsOfItsAccessesInSixteenBytesEach) {
  expect_run_holds_the_accesses(compact_accesses(), kAccessRunCompactEntrySize);
}

TEST(BinaryFormat, AccessesTheCompactFormCannotHoldMakeTheRunWide) {
  expect_run_holds_the_accesses(every_kind_of_small_access(), kAccessRunWideEntrySize);
  std::vector<AccessRecord> records = compact_accesses();
  const uint64_t base_pc = records[0].pc;
  const AccessRecord too_far[] = {
      {0x7f0000001000, 1, base_pc, 3},                            // 3 bytes
      {0x7f0000001000 + (uint64_t{1} << 32), 1, base_pc, 8},      // 4 GiB past the start
      {0x7f0000000ff8, 1, base_pc, 8},                            // before it
      {0x7f0000001000, 1, base_pc + (uint64_t{1} << 28), 8},      // a PC too far on
      {0x7f0000001000, 1, base_pc - (uint64_t{1} << 28) - 1, 8},  // ... and back
  };
  for (const AccessRecord& odd : too_far) {
    std::vector<AccessRecord> with_it = records;
    with_it.insert(with_it.begin() + 5, odd);
    expect_run_holds_the_accesses(with_it, kAccessRunWideEntrySize);
  }
}

TEST(BinaryFormat, PartOfARunIsARunOfItsOwn) {
  std::vector<AccessRecord> records = compact_accesses();
  SmallAccessRun run = run_of(records);
  KeepingSink one_by_one;
  one_by_one.TraceSink::write_small_accesses(run);
  std::vector<uint8_t> made(kMaxRecordSize);
  size_t size = encode_access_run(run, 4, 3, made.data());
  EXPECT_EQ(size, access_run_size(3, kAccessRunCompactEntrySize));
  Event event;
  const char* why = nullptr;
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(decode_record(made.data(), size, &event, &why, i), size);
    expect_same_access(event, one_by_one.events[4 + i], 4 + i);
  }
  EXPECT_EQ(decode_record(made.data(), size, &event, &why, 3), 0u);
  EXPECT_STREQ(why, "the access run has no such entry");
}

TEST(BinaryFormat, MalformedAccessRunsAreRefusedWithAReason) {
  std::vector<AccessRecord> records = every_kind_of_small_access();
  std::vector<uint8_t> run(kMaxRecordSize);
  size_t size = encode_access_run(run_of(records), 0, records.size(), run.data());
  ASSERT_EQ(run[1], kAccessRunWideEntrySize);
  Event event;
  const char* why = nullptr;

  std::vector<uint8_t> bad = run;
  uint16_t header_only = kAccessRunHeaderSize;  // no entry
  std::memcpy(&bad[2], &header_only, 2);
  EXPECT_EQ(decode_record(bad.data(), size, &event, &why), 0u);
  EXPECT_STREQ(why, "the access run's size is not that of a whole number of entries");

  bad = run;
  uint16_t between = static_cast<uint16_t>(size - 8);  // a third of an entry short
  std::memcpy(&bad[2], &between, 2);
  EXPECT_EQ(decode_record(bad.data(), size, &event, &why), 0u);
  EXPECT_STREQ(why, "the access run's size is not that of a whole number of entries");

  for (uint8_t entry_size : {0, 8, 20, 32}) {
    bad = run;
    bad[1] = entry_size;
    EXPECT_EQ(decode_record(bad.data(), size, &event, &why), 0u) << int{entry_size};
    EXPECT_STREQ(why, "the access run's entries have an unknown size");
  }

  for (uint8_t top : {0x00, 0x09, 0x10, 0x41}) {  // widths 0 and 9; bits the format leaves zero
    bad = run;
    bad[kAccessRunHeaderSize + kAccessRunWideEntrySize + 7] = top;  // the second entry's top byte
    EXPECT_EQ(decode_record(bad.data(), size, &event, &why), size);
    EXPECT_EQ(decode_record(bad.data(), size, &event, &why, 1), 0u) << int{top};
    EXPECT_STREQ(why, "an entry of the access run has an impossible width");
  }

  Event read = {};
  read.kind = EventKind::Read;
  read.width = 4;
  uint8_t single[kMaxRecordSize];
  size_t single_size = encode_record(read, single);
  EXPECT_EQ(record_event_count(single), 1u);
  EXPECT_EQ(decode_record(single, single_size, &event, &why, 1), 0u);
  EXPECT_STREQ(why, "the record holds one event");
}

TEST(BinaryFormat, MapUnmapUnknownLostAndText) {
  Event map = sample(EventKind::Map);
  map.length = 0x2000;
  Event decoded = round_trip(map);
  EXPECT_EQ(decoded.kind, EventKind::Map);
  EXPECT_EQ(decoded.length, 0x2000u);

  EXPECT_EQ(round_trip(sample(EventKind::Unmap)).kind, EventKind::Unmap);

  Event unknown = sample(EventKind::Unknown);
  unknown.insn_length = 4;
  std::memcpy(unknown.insn, "\xf0\x0f\xc1\x07", 4);
  decoded = round_trip(unknown);
  EXPECT_EQ(decoded.insn_length, 4);
  EXPECT_EQ(std::memcmp(decoded.insn, unknown.insn, 4), 0);

  Event lost = sample(EventKind::Lost);
  lost.length = 99;
  EXPECT_EQ(round_trip(lost).length, 99u);

  std::string text = "hello, trace\n";
  Event mark = sample(EventKind::Mark);
  mark.text = text.c_str();
  mark.text_length = static_cast<uint32_t>(text.size());
  uint8_t record[kMaxRecordSize];
  size_t size = encode_record(mark, record);
  const char* why = nullptr;
  ASSERT_EQ(decode_record(record, size, &decoded, &why), size);
  EXPECT_EQ(std::string(decoded.text, decoded.text_length), text);
}

TEST(BinaryFormat, LongTextIsCutToTheLimit) {
  std::string text(kMaxTextLength + 500, 'x');
  Event mark = sample(EventKind::Mark);
  mark.text = text.c_str();
  mark.text_length = static_cast<uint32_t>(text.size());
  EXPECT_EQ(round_trip(mark).text_length, kMaxTextLength);
}

TEST(BinaryFormat, MalformedRecordsAreRefusedWithAReason) {
  Event event = sample(EventKind::Read);
  event.width = 4;
  uint8_t record[kMaxRecordSize];
  size_t size = encode_record(event, record);
  Event decoded;
  const char* why = nullptr;
  EXPECT_EQ(decode_record(record, size - 8, &decoded, &why), 0u);
  EXPECT_STREQ(why, "the record is cut short");

  uint8_t bad_size[kMaxRecordSize];
  std::memcpy(bad_size, record, size);
  bad_size[2] = 13;  // not a multiple of 8
  bad_size[3] = 0;
  EXPECT_EQ(decode_record(bad_size, size, &decoded, &why), 0u);
  EXPECT_STREQ(why, "the record has an impossible size");

  uint8_t bad_kind[kMaxRecordSize];
  std::memcpy(bad_kind, record, size);
  bad_kind[0] = 200;
  EXPECT_EQ(decode_record(bad_kind, size, &decoded, &why), 0u);
  EXPECT_STREQ(why, "the record has an unknown kind");

  uint8_t bad_width[kMaxRecordSize];
  std::memcpy(bad_width, record, size);
  bad_width[1] = 65;
  EXPECT_EQ(decode_record(bad_width, size, &decoded, &why), 0u);
  EXPECT_STREQ(why, "the access has an impossible width");
}

// The events of the records encode_access_run() made at `bytes` (`size` bytes of them), and the
// kinds of those records.
struct DecodedRuns {
  std::vector<Event> events;
  std::vector<RecordKind> kinds;
};
DecodedRuns decode_runs(const uint8_t* bytes, size_t size) {
  DecodedRuns decoded;
  for (size_t offset = 0; offset < size;) {
    const char* why = nullptr;
    size_t used = decode_events(bytes + offset, size - offset, &why,
                                [&](const Event& e) { decoded.events.push_back(e); });
    EXPECT_NE(used, 0u) << (why ? why : "") << " at " << offset;
    if (used == 0) break;
    decoded.kinds.push_back(static_cast<RecordKind>(bytes[offset]));
    offset += used;
  }
  return decoded;
}

// Encodes `records` as access runs, checks they hold exactly the events the event-by-event path
// makes of them, in no more room than wide entries and writing nothing past their end; returns
// the kinds of the records.
std::vector<RecordKind> expect_runs_hold_the_accesses(const std::vector<AccessRecord>& records,
                                                      size_t* size_out = nullptr) {
  SmallAccessRun run = run_of(records);
  KeepingSink one_by_one;
  one_by_one.TraceSink::write_small_accesses(run);
  std::vector<uint8_t> made(access_run_size(records.size()) + 64, 0x5a);
  size_t size = encode_access_run(run, 0, records.size(), made.data());
  EXPECT_LE(size, access_run_size(records.size()));
  EXPECT_EQ(size % 8, 0u);
  for (size_t i = size; i < made.size(); ++i) {
    EXPECT_EQ(made[i], 0x5a) << "written past the records, at " << i;
    if (made[i] != 0x5a) break;
  }
  DecodedRuns decoded = decode_runs(made.data(), size);
  EXPECT_EQ(decoded.events.size(), records.size());
  for (size_t i = 0; i < decoded.events.size() && i < records.size(); ++i)
    expect_same_access(decoded.events[i], one_by_one.events[i], i);
  if (size_out != nullptr) *size_out = size;
  return decoded.kinds;
}

// A loop over device memory as memtester's are: `streams` accesses an iteration, each with its
// own PC, from its own address on by `stride` bytes, `iterations` times, with `value(i, s)`.
template <typename Value>
std::vector<AccessRecord> loop_accesses(size_t streams, size_t iterations, uint64_t width,
                                        int64_t stride, Value value, bool writes = false) {
  std::vector<AccessRecord> records;
  for (size_t i = 0; i < iterations; ++i) {
    for (size_t s = 0; s < streams; ++s) {
      AccessRecord record;
      record.address = 0x7f0000001000 + 0x4000 * s + static_cast<uint64_t>(stride) * i;
      record.value = value(i, s);
      record.pc = 0x55d0c0de1000 + 0x10 * s;
      record.info = width | (writes || s % 3 == 2 ? kAccessWrite : 0);
      records.push_back(record);
    }
  }
  return records;
}

uint64_t noise(size_t i, size_t s) {
  return 0x9e3779b97f4a7c15 * (i * 31 + s + 1) ^ 0xdeadbeefcafef00d;
}

TEST(BinaryFormat, LoopsAreStridedRunsThatHoldOnlyTheirValues) {
  for (uint64_t width : {1u, 2u, 4u, 8u}) {
    for (size_t streams : {1u, 2u, 3u, 8u}) {
      SCOPED_TRACE("width " + std::to_string(width) + ", streams " + std::to_string(streams));
      const size_t iterations = 256 / streams;
      size_t size = 0;
      auto kinds = expect_runs_hold_the_accesses(
          loop_accesses(streams, iterations, width, static_cast<int64_t>(width), noise), &size);
      ASSERT_EQ(kinds.size(), 1u);
      EXPECT_EQ(kinds[0], RecordKind::StridedRun);
      EXPECT_EQ(size, strided_run_size(streams, streams * iterations * width));
    }
  }
}

// The fewest accesses a strided run pays for: a loop of one stream whose value repeats, nine
// times (its header, descriptor and the next run's header, 136 bytes, against 16 a compact
// entry). Fewer are written plain at once (an emulated access is one); that they never make a
// strided run that pays is what this holds.
TEST(BinaryFormat, NineRepeatedAccessesAreTheShortestStridedRun) {
  for (size_t iterations = 1; iterations <= 12; ++iterations) {
    SCOPED_TRACE(std::to_string(iterations) + " accesses");
    auto kinds = expect_runs_hold_the_accesses(
        loop_accesses(1, iterations, 4, 4, [](size_t, size_t) { return uint64_t{7}; }));
    ASSERT_FALSE(kinds.empty());
    EXPECT_EQ(kinds[0], iterations >= 9 ? RecordKind::StridedRun : RecordKind::AccessRun);
  }
}

TEST(BinaryFormat, RepeatedAndSharedValuesCostNothing) {
  // memtester's compare loop: two buffers that hold the same values.
  size_t size = 0;
  auto kinds = expect_runs_hold_the_accesses(
      loop_accesses(2, 128, 8, 8, [](size_t i, size_t) { return noise(i, 0); }), &size);
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(size, strided_run_size(2, 128 * 8));
  // Polling a status register: the same address and value every time.
  kinds = expect_runs_hold_the_accesses(
      loop_accesses(1, 200, 4, 0, [](size_t, size_t) { return 0x80000001; }), &size);
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(size, strided_run_size(1, 0));
  // A value that repeats for a while, then changes: explicit after all.
  kinds = expect_runs_hold_the_accesses(
      loop_accesses(2, 100, 8, -8, [](size_t i, size_t) { return i < 90 ? 5 : i; }), &size);
  ASSERT_EQ(kinds.size(), 1u);
  EXPECT_EQ(size, strided_run_size(2, 100 * 8));
  // Values shared with the stream before, but only in the bytes of their width: yet explicit,
  // when the widths differ.
  std::vector<AccessRecord> records =
      loop_accesses(2, 64, 8, 8, [](size_t i, size_t s) { return s == 0 ? i : i | 0xff00; });
  expect_runs_hold_the_accesses(records, &size);
  EXPECT_EQ(size, strided_run_size(2, 64 * 16));
  for (size_t i = 1; i < records.size(); i += 2)
    records[i].info = 2;
  expect_runs_hold_the_accesses(records, &size);
  EXPECT_EQ(size, strided_run_size(2, 64 * 10));
  for (size_t i = 1; i < records.size(); i += 2)
    records[i].info = 8;
  for (size_t i = 1; i < records.size(); i += 2)
    records[i].value = records[i - 1].value | 0xff'0000'0000'0000;
  expect_runs_hold_the_accesses(records, &size);
  EXPECT_EQ(size, strided_run_size(2, 64 * 16));
  for (size_t i = 1; i < records.size(); i += 2)
    records[i].value = records[i - 1].value;
  expect_runs_hold_the_accesses(records, &size);
  EXPECT_EQ(size, strided_run_size(2, 64 * 8));
}

TEST(BinaryFormat, WhatBreaksAPatternEndsItsStridedRun) {
  const std::vector<AccessRecord> loop = loop_accesses(2, 100, 4, 4, noise);
  auto with = [&](size_t at, auto change) {
    std::vector<AccessRecord> records = loop;
    change(records[at]);
    return expect_runs_hold_the_accesses(records);
  };
  using Kinds = std::vector<RecordKind>;
  const Kinds split = {RecordKind::StridedRun, RecordKind::AccessRun, RecordKind::StridedRun};
  EXPECT_EQ(with(101, [](AccessRecord& r) { r.info = 2; }), split);              // width
  EXPECT_EQ(with(101, [](AccessRecord& r) { r.info ^= kAccessWrite; }), split);  // direction
  EXPECT_EQ(with(101, [](AccessRecord& r) { r.address += 0x100; }), split);      // address gap
  EXPECT_EQ(with(101, [](AccessRecord& r) { r.pc += 1; }), split);               // PC jump
  EXPECT_EQ(with(101, [](AccessRecord& r) { r.value = 7; }), Kinds{RecordKind::StridedRun});
  // Where the pattern changes for good, another one starts.
  std::vector<AccessRecord> records = loop;
  std::vector<AccessRecord> second = loop_accesses(3, 50, 8, -16, noise, true);
  records.insert(records.end(), second.begin(), second.end());
  EXPECT_EQ(expect_runs_hold_the_accesses(records),
            (Kinds{RecordKind::StridedRun, RecordKind::StridedRun}));
  // Too short to pay, or with more streams than a strided run holds: plain runs.
  EXPECT_EQ(expect_runs_hold_the_accesses(loop_accesses(2, 3, 8, 8, noise)),
            Kinds{RecordKind::AccessRun});
  EXPECT_EQ(expect_runs_hold_the_accesses(loop_accesses(9, 20, 8, 8, noise)),
            Kinds{RecordKind::AccessRun});
  // Every width, 3 bytes too, where a stream's width is its own.
  for (uint64_t width = 1; width <= 8; ++width) {
    records = loop_accesses(2, 40, width, static_cast<int64_t>(width), noise);
    EXPECT_EQ(expect_runs_hold_the_accesses(records), Kinds{RecordKind::StridedRun}) << width;
  }
}

TEST(BinaryFormat, StridedRunsHoldUpToTheMostEntriesOfARun) {
  std::vector<AccessRecord> records = loop_accesses(2, kMaxAccessRunEntries, 8, 8, noise);
  SmallAccessRun run = run_of(records);
  std::vector<uint8_t> made(access_run_size(kMaxAccessRunEntries));
  size_t size = encode_access_run(run, 0, kMaxAccessRunEntries, made.data());
  EXPECT_EQ(made[0], static_cast<uint8_t>(RecordKind::StridedRun));
  EXPECT_EQ(record_event_count(made.data()), kMaxAccessRunEntries);
  EXPECT_EQ(size, strided_run_size(2, kMaxAccessRunEntries * 8));
  // Two calls, as a ring takes a long run: the second's pattern starts anew.
  size = encode_access_run(run, kMaxAccessRunEntries, kMaxAccessRunEntries, made.data());
  DecodedRuns decoded = decode_runs(made.data(), size);
  ASSERT_EQ(decoded.events.size(), kMaxAccessRunEntries);
  EXPECT_EQ(decoded.events[0].virt, records[kMaxAccessRunEntries].address);
  EXPECT_EQ(decoded.events.back().virt, records.back().address);
}

TEST(BinaryFormat, AnyMixOfLoopsAndOtherAccessesRoundTrips) {
  std::mt19937_64 random(2026);
  for (int round = 0; round < 300; ++round) {
    std::vector<AccessRecord> records;
    while (records.size() < 1 + random() % kMaxAccessRunEntries) {
      const uint64_t width = uint64_t{1} << (random() % 4);
      if (random() % 3 == 0) {  // a few unrelated accesses
        for (uint64_t n = random() % 5; n > 0; --n) {
          records.push_back({0x7f0000001000 + (random() & 0xffff), random(),
                             0x401000 + (random() & 0x1f), width | (random() % 2) << 8});
        }
        continue;
      }
      const size_t streams = 1 + random() % 9;
      const int64_t stride = static_cast<int64_t>(random() % 5) * 4 - 8;
      const uint64_t kind = random() % 4;  // the values: random, repeated, shared, small
      auto value = [&](size_t i, size_t s) -> uint64_t {
        return kind == 0 ? random() : kind == 1 ? s : kind == 2 ? i : random() % 2;
      };
      std::vector<AccessRecord> loop =
          loop_accesses(streams, 1 + random() % 60, width, stride, value, random() % 2);
      records.insert(records.end(), loop.begin(), loop.end());
    }
    records.resize(std::min<size_t>(records.size(), kMaxAccessRunEntries));
    SCOPED_TRACE("round " + std::to_string(round));
    expect_runs_hold_the_accesses(records);
    if (HasFailure()) break;
  }
}

// Encodes records [0, count) of `run` as the ring sink does, handed more than the run holds, and
// checks it takes those before the first it does not hold (`held` of them), in exactly the bytes
// it makes of those alone.
void expect_run_taken_up_to(const SmallAccessRun& run, size_t held) {
  std::vector<uint8_t> alone(access_run_size(run.count) + 64, 0x5a);
  const size_t alone_size = encode_access_run(run, 0, held, alone.data());
  std::vector<uint8_t> made(access_run_size(run.count) + 64, 0x5a);
  size_t taken = 0;
  const size_t size = encode_access_run(run, 0, run.count, made.data(), &taken);
  EXPECT_EQ(taken, held);
  ASSERT_EQ(size, alone_size);
  EXPECT_EQ(std::memcmp(made.data(), alone.data(), made.size()), 0) << "other bytes";
  DecodedRuns decoded = decode_runs(made.data(), size);
  ASSERT_EQ(decoded.events.size(), held);
  for (size_t i = 0; i < held; ++i) {
    EXPECT_EQ(decoded.events[i].virt, run.records[i].address) << i;
    EXPECT_EQ(decoded.events[i].phys, run.phys_base + (run.records[i].address - run.virt_base))
        << i;
  }
}

// The first of `run`'s records that it does not hold, found one by one.
size_t first_not_held(const SmallAccessRun& run) {
  size_t i = 0;
  while (i < run.count && run.holds(run.records[i]))
    ++i;
  return i;
}

TEST(BinaryFormat, ARunEndsAtTheFirstAccessOutsideItsMappingOrWiderThanEightBytes) {
  // A loop that runs past the mapping's end (the next mapping's accesses follow it), by either
  // of its streams: the strided run is cut there, as if it ended there.
  const std::vector<AccessRecord> loop = loop_accesses(2, 120, 8, 8, noise);
  for (size_t past : {0u, 1u, 2u, 3u, 50u, 51u, 238u, 239u}) {
    SCOPED_TRACE("past the end from access " + std::to_string(past));
    std::vector<AccessRecord> records = loop;  // stream 1 lies 0x4000 above stream 0 ...
    if (past % 2 == 0) {
      for (size_t i = 0; i < records.size(); i += 2) {  // ... or below it
        records[i].address += 0x4000;
        records[i + 1].address -= 0x4000;
      }
    }
    SmallAccessRun run = run_of(records);
    run.virt_size = records[past].address - run.virt_base;
    EXPECT_EQ(first_not_held(run), past);
    expect_run_taken_up_to(run, past);
  }
  // Running down out of the mapping's start.
  std::vector<AccessRecord> down = loop_accesses(1, 200, 4, -4, noise);
  SmallAccessRun run = run_of(down);
  run.virt_base = down[150].address + 4;
  run.virt_size = 0x10000;
  EXPECT_EQ(first_not_held(run), 150u);
  expect_run_taken_up_to(run, 150);
  // A stride that leaves the mapping and comes back (modulo 2^64): each end of the stream lies
  // in it, every other access does not.
  std::vector<AccessRecord> wraps = loop_accesses(1, 101, 8, INT64_MIN, noise);
  run = run_of(wraps);
  run.virt_size = 0x1000;
  EXPECT_EQ(first_not_held(run), 1u);
  expect_run_taken_up_to(run, 1);
  // A vector's access (its continuation after it) in a loop or among other accesses.
  std::vector<AccessRecord> with_wide = loop;
  with_wide[77].info = 16;
  expect_run_taken_up_to(run_of(with_wide), 77);
  with_wide = compact_accesses();
  with_wide[5].info = 32 | kAccessWrite;
  expect_run_taken_up_to(run_of(with_wide), 5);
  // An access outside the mapping among other accesses, and one as the very first.
  std::vector<AccessRecord> plain = compact_accesses();
  run = run_of(plain);
  run.virt_size = 0x1000;
  expect_run_taken_up_to(run, first_not_held(run));
  EXPECT_EQ(first_not_held(run), 1u);
  plain[0].address = run.virt_base - 8;
  run = run_of(plain);
  run.virt_size = 0x1000;
  expect_run_taken_up_to(run, 0);
}

TEST(BinaryFormat, AnyMixCutAnywhereIsTakenUpToItsFirstAccessOutsideTheMapping) {
  std::mt19937_64 random(17);
  for (int round = 0; round < 300; ++round) {
    std::vector<AccessRecord> records;
    while (records.size() < kMaxAccessRunEntries) {
      const uint64_t width = uint64_t{1} << (random() % 4);
      if (random() % 3 == 0) {
        records.push_back({0x7f0000001000 + (random() & 0xffff), random(),
                           0x401000 + (random() & 0x1f), width | (random() % 2) << 8});
        continue;
      }
      std::vector<AccessRecord> loop =
          loop_accesses(1 + random() % 4, 1 + random() % 200, width,
                        static_cast<int64_t>(random() % 5) * 4 - 8, noise, random() % 2);
      records.insert(records.end(), loop.begin(), loop.end());
    }
    records.resize(kMaxAccessRunEntries);
    SmallAccessRun run = run_of(records);
    run.virt_size = random() % 0x14000;  // streams lie 0x4000 apart
    SCOPED_TRACE("round " + std::to_string(round) + ", mapping of " +
                 std::to_string(run.virt_size) + " bytes");
    expect_run_taken_up_to(run, first_not_held(run));
    if (HasFailure()) break;
  }
}

TEST(BinaryFormat, MalformedStridedRunsAreRefusedWithAReason) {
  std::vector<AccessRecord> records = loop_accesses(2, 30, 4, 4, noise);
  for (size_t i = 1; i < records.size(); i += 2)
    records[i].info = 2;  // a stream of another width
  std::vector<uint8_t> run(kMaxRecordSize);
  const size_t size = encode_access_run(run_of(records), 0, records.size(), run.data());
  ASSERT_EQ(run[0], static_cast<uint8_t>(RecordKind::StridedRun));
  ASSERT_EQ(size, strided_run_size(2, 30 * 6));
  Event event;
  const char* why = nullptr;
  ASSERT_EQ(decode_record(run.data(), size, &event, &why, 59), size);
  EXPECT_EQ(decode_record(run.data(), size, &event, &why, 60), 0u);
  EXPECT_STREQ(why, "the access run has no such entry");
  auto refused = [&](std::vector<uint8_t> bad, const char* reason) {
    EXPECT_EQ(decode_record(bad.data(), size, &event, &why), 0u) << reason;
    EXPECT_STREQ(why, reason);
  };
  const size_t count_at = sizeof(RecordHeader) + offsetof(StridedRunBody, count);
  const size_t stream_top = kStridedRunHeaderSize + 7;  // the first descriptor's top byte
  for (uint8_t streams : {0, 1, 9}) {
    std::vector<uint8_t> bad = run;
    bad[1] = streams;
    refused(bad, streams == 1 ? "the strided run's size is not that of its values"
                              : "the strided run has an impossible number of streams");
  }
  for (uint64_t count : {uint64_t{1}, uint64_t{31}, uint64_t{1025}, ~uint64_t{0}}) {
    std::vector<uint8_t> bad = run;
    store64(&bad[count_at], count);
    refused(bad, count == 31 ? "the strided run's size is not that of its values"
                             : "the strided run has an impossible number of entries");
  }
  // Widths 0 and 9, mode 3, bit 62, Previous in stream 0.
  for (uint8_t top : {0x00, 0x09, 0x34, 0x44, 0x24}) {
    std::vector<uint8_t> bad = run;
    bad[stream_top] = top;
    refused(bad, "a stream of the strided run has an impossible width or value");
  }
  std::vector<uint8_t> bad = run;
  const uint16_t shorter = static_cast<uint16_t>(size - 8);
  std::memcpy(&bad[2], &shorter, 2);
  refused(bad, "the strided run's size is not that of its values");
  EXPECT_EQ(decode_record(bad.data(), sizeof(RecordHeader) + 8, &event, &why), 0u);
  bad = run;
  const uint16_t header_only = kStridedRunHeaderSize;
  std::memcpy(&bad[2], &header_only, 2);
  refused(bad, "the record is too small for its kind");
}

}  // namespace
}  // namespace mmiotrace::trace
