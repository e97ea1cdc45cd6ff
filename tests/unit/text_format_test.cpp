// Unit tests for trace/text_format: the kernel's mmiotrace text format, byte for byte.
#include "trace/text_format.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

namespace mmiotrace::trace {
namespace {

std::string format(const Event& event) {
  FixedText<kMaxFormattedEvent> out;
  format_text(event, out);
  return std::string(out.view());
}

Event access(EventKind kind, unsigned width, uint64_t value) {
  Event event;
  event.kind = kind;
  event.width = static_cast<uint8_t>(width);
  event.time_ns = 12'345'678'901;
  event.map_id = 3;
  event.phys = 0xfebf0010;
  event.pc = 0x55d0c0de1234;
  event.pid = 4242;
  for (unsigned i = 0; i < width && i < 8; ++i)
    event.value[i] = static_cast<uint8_t>(value >> (8 * i));
  return event;
}

TEST(TextFormat, ReadLineMatchesKernelPrintf) {
  EXPECT_EQ(format(access(EventKind::Read, 4, 0x12345678)),
            "R 4 12.345679 3 0xfebf0010 0x12345678 0x55d0c0de1234 4242\n");
}

TEST(TextFormat, WriteLineHasNoZeroPadding) {
  EXPECT_EQ(format(access(EventKind::Write, 1, 0x5)),
            "W 1 12.345679 3 0xfebf0010 0x5 0x55d0c0de1234 4242\n");
}

TEST(TextFormat, ZeroValueIsPrintedAsHexZero) {
  EXPECT_EQ(format(access(EventKind::Write, 8, 0)),
            "W 8 12.345679 3 0xfebf0010 0x0 0x55d0c0de1234 4242\n");
}

TEST(TextFormat, TimestampRoundsToNearestMicrosecondWithCarry) {
  FixedText<64> out;
  format_timestamp(1'999'999'500, out);
  EXPECT_EQ(out.view(), "2.000000");
  out.clear();
  format_timestamp(1'000'000'499, out);
  EXPECT_EQ(out.view(), "1.000000");
  out.clear();
  format_timestamp(7'000'001'500, out);
  EXPECT_EQ(out.view(), "7.000002");
}

TEST(TextFormat, MapLine) {
  Event event;
  event.kind = EventKind::Map;
  event.time_ns = 5'000'000'000;
  event.map_id = 1;
  event.phys = 0xfe000000;
  event.virt = 0x7f0012340000;
  event.length = 0x1000;
  event.pc = 0x401234;
  event.pid = 77;
  EXPECT_EQ(format(event), "MAP 5.000000 1 0xfe000000 0x7f0012340000 0x1000 0x401234 77\n");
}

TEST(TextFormat, UnmapLine) {
  Event event;
  event.kind = EventKind::Unmap;
  event.time_ns = 5'000'001'000;
  event.map_id = 1;
  event.pc = 0x401300;
  event.pid = 77;
  EXPECT_EQ(format(event), "UNMAP 5.000001 1 0x401300 77\n");
}

TEST(TextFormat, UnknownLineShowsThreeOpcodeBytesZeroPadded) {
  Event event;
  event.kind = EventKind::Unknown;
  event.time_ns = 1'000'000;
  event.map_id = 2;
  event.phys = 0x20;
  event.insn[0] = 0xf0;
  event.insn[1] = 0x0f;
  event.insn[2] = 0xc1;
  event.insn_length = 4;
  event.pc = 0x401000;
  event.pid = 9;
  EXPECT_EQ(format(event), "UNKNOWN 0.001000 2 0x20 f0,0f,c1 0x401000 9\n");
}

TEST(TextFormat, MarkKeepsItsNewlineAndAddsOneWhenMissing) {
  Event event;
  event.kind = EventKind::Mark;
  event.time_ns = 2'500'000'000;
  event.text = "init done\n";
  event.text_length = 10;
  EXPECT_EQ(format(event), "MARK 2.500000 init done\n");
  event.text = "no newline";
  event.text_length = 10;
  EXPECT_EQ(format(event), "MARK 2.500000 no newline\n");
}

TEST(TextFormat, LostEventsUseTheKernelMarker) {
  Event event;
  event.kind = EventKind::Lost;
  event.length = 17;
  EXPECT_EQ(format(event), "MARK 0.000000 Lost 17 events.\n");
}

TEST(TextFormat, NegativeMapIdForUnknownMapping) {
  Event event;
  event.kind = EventKind::Unmap;
  event.map_id = kUnknownMapId;
  event.pc = 0x1;
  event.pid = 1;
  EXPECT_EQ(format(event), "UNMAP 0.000000 -1 0x1 1\n");
}

TEST(TextFormat, WideAccessBecomesConsecutiveEightByteLines) {
  Event event = access(EventKind::Write, 16, 0);
  for (unsigned i = 0; i < 16; ++i)
    event.value[i] = static_cast<uint8_t>(i + 1);
  EXPECT_EQ(format(event),
            "W 8 12.345679 3 0xfebf0010 0x807060504030201 0x55d0c0de1234 4242\n"
            "W 8 12.345679 3 0xfebf0018 0x100f0e0d0c0b0a09 0x55d0c0de1234 4242\n");
}

TEST(TextFormat, PutHexAndPutDecimalMatchPrintf) {
  std::mt19937_64 random(3);
  for (int i = 0; i < 200000; ++i) {
    uint64_t value = random() >> (random() % 64);
    if (i < 64) value = i < 32 ? uint64_t{1} << i : ~uint64_t{0} >> (i - 32);
    char expected[32];
    snprintf(expected, sizeof(expected), "%lx", static_cast<unsigned long>(value));
    char out[48];
    char* end = put_hex(out, value);
    ASSERT_EQ(std::string(out, end), expected) << i;
    snprintf(expected, sizeof(expected), "%lu", static_cast<unsigned long>(value));
    end = put_decimal(out, value);
    ASSERT_EQ(std::string(out, end), expected) << i;
  }
}

TEST(TextFormat, AccessLinesMatchKernelPrintfAtEveryFieldLength) {
  std::mt19937_64 random(4);
  for (int i = 0; i < 20000; ++i) {
    uint64_t time_ns = random() >> (random() % 64);
    auto map_id = static_cast<int32_t>(random());
    auto pid = static_cast<int32_t>(random() >> 33);
    uint64_t phys = random() >> (random() % 64);
    uint64_t value = random() >> (random() % 64);
    uint64_t pc = random() >> (random() % 64);
    unsigned width = 1u << (i % 4);
    uint64_t microseconds = (time_ns + 500) / 1000;
    char expected[160];
    snprintf(expected, sizeof(expected), "%c %u %lu.%06lu %d 0x%lx 0x%lx 0x%lx %d\n",
             i % 2 ? 'W' : 'R', width, static_cast<unsigned long>(microseconds / 1000000),
             static_cast<unsigned long>(microseconds % 1000000), map_id,
             static_cast<unsigned long>(phys), static_cast<unsigned long>(value),
             static_cast<unsigned long>(pc), pid);
    AccessLineShared shared(time_ns, map_id, pid);
    char line[kMaxAccessLine];
    char* end = put_access_line(line, i % 2 ? 'W' : 'R', width, shared, phys, value, pc);
    ASSERT_EQ(std::string(line, end), expected) << i;
  }
}

}  // namespace
}  // namespace mmiotrace::trace
