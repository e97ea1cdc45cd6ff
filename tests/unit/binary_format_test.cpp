// Unit tests for trace/binary_format: every kind of record survives encoding and decoding, and
// malformed records are refused with a reason.
#include "trace/binary_format.hpp"

#include <gtest/gtest.h>

#include <cstring>
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

}  // namespace
}  // namespace mmiotrace::trace
