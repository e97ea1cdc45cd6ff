// Unit tests for the recording API (recorder/trace_api.cpp): a program recording itself with the
// in-process writer, in each format.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "mmiotrace/mmiotrace.h"
#include "test_support.hpp"
#include "trace/trace_reader.hpp"
#include "trace_file_support.hpp"

namespace mmiotrace::testing {
namespace {

std::vector<trace::Event> read_events(const std::string& path, std::vector<std::string>* texts) {
  auto reader = trace::TraceReader::open(path);
  std::vector<trace::Event> events;
  trace::Event event;
  while (reader->next(event)) {
    texts->emplace_back(event.text ? std::string(event.text, event.text_length) : "");
    events.push_back(event);
  }
  return events;
}

class RecordingApiTest : public ::testing::TestWithParam<mmiotrace_format> {};

TEST_P(RecordingApiTest, ProgramRecordsItsOwnAccessesAndMarkers) {
  TemporaryFile file;
  TestMemory device(1);
  ASSERT_EQ(mmiotrace_trace_start(file.path().c_str(), GetParam()), 0);
  EXPECT_EQ(mmiotrace_trace_start(file.path().c_str(), GetParam()), -EBUSY);
  mmiotrace_mapping* mapping = mmiotrace_trace_range(device.base(), 4096, 0xfe000000);
  ASSERT_NE(mapping, nullptr);
  store32(device.address(0x10), 0xabcd);
  EXPECT_EQ(mmiotrace_mark("configured"), 0);
  EXPECT_EQ(load32(device.address(0x10)), 0xabcdu);
  EXPECT_EQ(mmiotrace_untrace_range(mapping), 0);
  ASSERT_EQ(mmiotrace_trace_stop(), 0);
  EXPECT_EQ(mmiotrace_trace_stop(), -ENOENT);

  std::vector<std::string> texts;
  std::vector<trace::Event> events = read_events(file.path(), &texts);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].kind, trace::EventKind::Map);
  EXPECT_EQ(events[0].phys, 0xfe000000u);
  EXPECT_EQ(events[0].length, 4096u);
  EXPECT_EQ(events[1].kind, trace::EventKind::Write);
  EXPECT_EQ(events[1].phys, 0xfe000010u);
  EXPECT_EQ(events[2].kind, trace::EventKind::Mark);
  EXPECT_EQ(texts[2], "configured");
  EXPECT_EQ(events[3].kind, trace::EventKind::Read);
  EXPECT_EQ(events[4].kind, trace::EventKind::Unmap);
  EXPECT_EQ(events[4].map_id, events[0].map_id);
}

INSTANTIATE_TEST_SUITE_P(Formats, RecordingApiTest,
                         ::testing::Values(MMIOTRACE_FORMAT_TEXT, MMIOTRACE_FORMAT_BINARY,
                                           MMIOTRACE_FORMAT_BINARY_ZSTD));

// The engine's notices reach the recording as markers, from its SIGSEGV handler: here, that an
// instruction it cannot emulate (a jump through traced memory) is single-stepped.
TEST(RecordingApi, EngineNoticesBecomeMarkers) {
  TemporaryFile file;
  TestMemory device(1);
  ASSERT_EQ(mmiotrace_trace_start(file.path().c_str(), MMIOTRACE_FORMAT_BINARY), 0);
  mmiotrace_mapping* mapping = mmiotrace_trace_range(device.base(), 4096, 0xfe000000);
  ASSERT_NE(mapping, nullptr);
  uint64_t landed = 0;
  asm volatile(
      "leaq 1f(%%rip), %%rax\n\t"
      "movq %%rax, (%1)\n\t"
      "jmp *(%1)\n\t"
      "ud2\n"
      "1:\n\t"
      "movq $1, %0"
      : "=r"(landed)
      : "r"(device.address(0x60))
      : "rax", "memory");
  EXPECT_EQ(mmiotrace_untrace_range(mapping), 0);
  ASSERT_EQ(mmiotrace_trace_stop(), 0);
  EXPECT_EQ(landed, 1u);

  std::vector<std::string> texts;
  std::vector<trace::Event> events = read_events(file.path(), &texts);
  size_t notices = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind != trace::EventKind::Mark) continue;
    ++notices;
    EXPECT_NE(texts[i].find("mmiotrace: single-stepping the instruction at "), std::string::npos)
        << texts[i];
    EXPECT_NE(texts[i].find("because it jumps through memory"), std::string::npos) << texts[i];
  }
  EXPECT_EQ(notices, 1u);
}

TEST(RecordingApi, WithoutARecordingNothingIsTraced) {
  TestMemory device(1);
  errno = 0;
  EXPECT_EQ(mmiotrace_trace_range(device.base(), 4096, 0), nullptr);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(mmiotrace_mark("nobody hears"), -ENOENT);
  EXPECT_EQ(mmiotrace_trace_start("/tmp/x", static_cast<mmiotrace_format>(9)), -EINVAL);
  EXPECT_EQ(mmiotrace_trace_start("/nonexistent/dir/trace", MMIOTRACE_FORMAT_TEXT), -ENOENT);
}

}  // namespace
}  // namespace mmiotrace::testing
