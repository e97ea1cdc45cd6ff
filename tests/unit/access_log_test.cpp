// Unit tests for codecache/access_log: a thread's log is placed in the StagedAccessLog the
// recorder gives it, hands its records over whole, and leaves no record (nor a wide access's
// continuation) that a later, shorter batch could be taken to hold when its thread dies.
#include "codecache/access_log.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace mmiotrace::codecache {
namespace {

StagedAccessLog g_staged;
std::vector<AccessRecord> g_handed;

StagedAccessLog* place_in_staged() {
  return &g_staged;
}
uint64_t ring_head() {
  return 0;
}
void collect(const AccessRecord* records, size_t count, uint64_t) {
  g_handed.insert(g_handed.end(), records, records + count);
}

// What translated code does for an access: its record, `info` last, then the count.
void log_access(AccessLog& log, uint64_t address, uint64_t width, const uint8_t* value) {
  AccessRecord* record = log.records + log.count;
  record->address = address;
  record->pc = 0x401000;
  if (width <= 8) {
    std::memcpy(&record->value, value, width);
  } else {
    std::memcpy(static_cast<void*>(record + 1), value, width);  // the continuations
  }
  record->info = width | kAccessWrite;
  log.count += access_record_span(width);
}

TEST(AccessLog, HandsItsRecordsOverAndLeavesNoStaleInfoBehind) {
  set_access_log_placement(&place_in_staged, &ring_head);
  set_access_log_flush(&collect);
  std::thread([] {
    AccessLog& log = this_thread_access_log();
    EXPECT_EQ(log.records, nullptr);  // unplaced: the first access flushes, which places it
    flush_access_log();
    ASSERT_EQ(log.records, g_staged.records);
    ASSERT_EQ(log.count, 0u);
    // A batch with a wide access whose value's bytes, where a record's info would be, are set.
    uint8_t wide[32];
    std::memset(wide, 0xab, sizeof(wide));
    uint64_t narrow = 7;
    log_access(log, 0x1000, 8, reinterpret_cast<uint8_t*>(&narrow));
    log_access(log, 0x1020, 32, wide);
    ASSERT_EQ(log.count, 3u);
    flush_access_log();
    EXPECT_EQ(g_handed.size(), 3u);
    EXPECT_EQ(log.count, 0u);
    // Nothing in the log passes for a record once it is handed over: a thread that dies after
    // logging two narrow accesses leaves exactly two.
    for (size_t i = 0; i < kAccessLogRecords; ++i)
      EXPECT_EQ(g_staged.records[i].info, 0u) << i;
    log_access(log, 0x1000, 8, reinterpret_cast<uint8_t*>(&narrow));
    log_access(log, 0x1008, 8, reinterpret_cast<uint8_t*>(&narrow));
    EXPECT_EQ(g_staged.records[2].info, 0u);
    EXPECT_EQ(g_staged.handing_since.load(), 0u);
    flush_access_log();
    unplace_access_log();
  }).join();
  EXPECT_EQ(g_handed.size(), 5u);
  set_access_log_flush(nullptr);
  set_access_log_placement(nullptr, nullptr);
}

}  // namespace
}  // namespace mmiotrace::codecache
