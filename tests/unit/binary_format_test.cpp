// Unit tests for trace/binary_format: every kind of record survives encoding and decoding, and
// malformed records are refused with a reason.
#include "trace/binary_format.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

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
    for (unsigned i = 0; i < width; ++i) event.value[i] = static_cast<uint8_t>(0xa0 + i);
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

TEST(BinaryFormat, SmallAccessesAreEncodedExactlyAsTheirEventsWouldBe) {
  for (bool write : {false, true}) {
    for (unsigned width : {1u, 2u, 4u, 8u}) {
      SmallAccess access = {};
      access.write = write;
      access.width = static_cast<uint8_t>(width);
      access.map_id = -3;  // negative ids must keep their sign bits
      access.pid = 0x8899aabb;
      access.tid = 0x11223344;
      access.time_ns = 0x0102030405060708;
      access.pc = 0x7f1122334455;
      access.phys = 0xfe001000 + width;
      access.virt = 0x7f0000001000 + width;
      access.value = 0xdeadbeefcafef00d;  // bytes past `width` must not reach the record
      Event event;
      event.kind = write ? EventKind::Write : EventKind::Read;
      event.width = access.width;
      event.map_id = access.map_id;
      event.pid = static_cast<int32_t>(access.pid);
      event.tid = static_cast<int32_t>(access.tid);
      event.time_ns = access.time_ns;
      event.pc = access.pc;
      event.phys = access.phys;
      event.virt = access.virt;
      std::memcpy(event.value, &access.value, width);
      uint8_t expected[kMaxRecordSize];
      ASSERT_EQ(encode_record(event, expected), kSmallAccessRecordSize);
      uint8_t made[kSmallAccessRecordSize];
      std::memset(made, 0x5a, sizeof(made));
      encode_small_access(access, made);
      EXPECT_EQ(std::memcmp(made, expected, kSmallAccessRecordSize), 0)
          << (write ? "write" : "read") << " of " << width;
    }
  }
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
