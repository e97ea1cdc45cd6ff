// Unit tests for the alignment of two traces (`mmiotrace diff`): what is compared, how the
// traces meet again after a difference, and polling loops of different lengths.
#include "analysis/trace_diff.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trace_file_support.hpp"

namespace mmiotrace::analysis {
namespace {

using testing::TemporaryFile;

std::unique_ptr<trace::TraceReader> text_trace(const TemporaryFile& file,
                                               const std::vector<std::string>& lines) {
  std::string text = "VERSION 20070824\n";
  for (const std::string& line : lines)
    text += line + "\n";
  file.set_content(text);
  return trace::TraceReader::open(file.path());
}

std::vector<DiffHunk> hunks(const std::vector<std::string>& a, const std::vector<std::string>& b,
                            bool squash = false, uint64_t* matched = nullptr) {
  TemporaryFile a_file, b_file;
  TraceDiff differ(text_trace(a_file, a), text_trace(b_file, b), 100, 2, squash);
  std::vector<DiffHunk> all;
  DiffHunk hunk;
  while (differ.next_hunk(hunk))
    all.push_back(hunk);
  if (matched) *matched = differ.matched();
  return all;
}

std::vector<std::string> texts(const std::vector<DiffItem>& items) {
  std::vector<std::string> out;
  for (const DiffItem& item : items)
    out.push_back(item.text);
  return out;
}

// Two runs: other times, PCs, pids, virtual addresses, map ids and physical bases.
const std::vector<std::string> kRunA = {
    "MAP 1.000000 1 0xfe000000 0x7f0000000000 0x1000 0x401000 100",
    "W 4 1.000001 1 0xfe000014 0x1 0x401010 100", "R 4 1.000002 1 0xfe00001c 0x1 0x401020 100",
    "MARK 1.000003 reset done", "UNMAP 1.000004 1 0x401030 100"};
const std::vector<std::string> kRunB = {
    "MAP 7.000000 3 0xfe000000 0x7f1111111000 0x1000 0x55501000 200",
    "W 4 7.000001 3 0xfe000014 0x1 0x55501010 200", "R 4 7.000002 3 0xfe00001c 0x1 0x55501020 200",
    "UNMAP 7.000004 3 0x55501030 200"};

TEST(TraceDiff, TwoRunsOfTheSameDriverMatch) {
  uint64_t matched = 0;
  EXPECT_TRUE(hunks(kRunA, kRunB, false, &matched).empty());
  EXPECT_EQ(matched, 4u) << "MAP, W, R, UNMAP; the marker is left out";
}

TEST(TraceDiff, AChangedWriteIsOneHunkAndTheTracesMeetAgain) {
  std::vector<std::string> b = kRunB;
  b[1] = "W 4 7.000001 3 0xfe000014 0x3 0x55501010 200";
  std::vector<DiffHunk> found = hunks(kRunA, b);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(texts(found[0].only_in_a), (std::vector<std::string>{"W 4 map 1 +0x14 0x1"}));
  EXPECT_EQ(texts(found[0].only_in_b), (std::vector<std::string>{"W 4 map 1 +0x14 0x3"}));
  EXPECT_EQ(found[0].a_position, "line 3");
  EXPECT_EQ(found[0].b_position, "line 3");
}

TEST(TraceDiff, ExtraAndMissingAccessesAreFoundWherever) {
  std::vector<std::string> b = kRunB;
  b.insert(b.begin() + 2, "W 4 7.000001 3 0xfe000020 0x9 0x55501010 200");  // extra in B
  b.erase(b.begin() + 3);                                                   // the read is missing
  std::vector<DiffHunk> found = hunks(kRunA, b);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(texts(found[0].only_in_a), (std::vector<std::string>{"R 4 map 1 +0x1c 0x1"}));
  EXPECT_EQ(texts(found[0].only_in_b), (std::vector<std::string>{"W 4 map 1 +0x20 0x9"}));
}

TEST(TraceDiff, PollingLoopsOfOtherLengthsMatchWhenSquashed) {
  std::vector<std::string> a = kRunA;
  std::vector<std::string> b = kRunB;
  a.insert(a.begin() + 2, "R 4 1.000002 1 0xfe00001c 0x0 0x401020 100");
  for (int i = 0; i < 5; ++i)
    b.insert(b.begin() + 2, "R 4 7.000002 3 0xfe00001c 0x0 0x55501020 200");
  EXPECT_EQ(hunks(a, b).size(), 1u);
  EXPECT_TRUE(hunks(a, b, true).empty());
}

TEST(TraceDiff, ATraceThatEndsEarlyLeavesTheRestOnOneSide) {
  std::vector<std::string> b(kRunB.begin(), kRunB.begin() + 2);
  std::vector<DiffHunk> found = hunks(kRunA, b);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(texts(found[0].only_in_a),
            (std::vector<std::string>{"R 4 map 1 +0x1c 0x1", "UNMAP map 1"}));
  EXPECT_TRUE(found[0].only_in_b.empty());
  EXPECT_EQ(found[0].b_position, "end");
}

}  // namespace
}  // namespace mmiotrace::analysis
