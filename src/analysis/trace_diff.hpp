// Aligning two traces of the same driver (two versions, two runs): `mmiotrace diff`. The
// traces are read as streams of comparable items (MAP, UNMAP, R, W, UNKNOWN and ioctl, with
// timestamps, PCs, process ids and virtual addresses left out, mappings numbered by order of
// appearance and accesses placed by their offset in their mapping) and aligned with a bounded
// look-ahead, so that memory stays constant however long the traces are. Normal context.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "trace/trace_reader.hpp"

namespace mmiotrace::analysis {

// One comparable event: `text` is what is compared (and shown), `position` where it is.
struct DiffItem {
  std::string text;
  std::string position;
};

// A run of items found in one trace and not the other, where the two part and meet again.
struct DiffHunk {
  std::string a_position;  // of the first item of the hunk in A (or where A stands)
  std::string b_position;
  std::vector<DiffItem> only_in_a;
  std::vector<DiffItem> only_in_b;
};

// Reads one trace as comparable items.
class DiffItemReader {
 public:
  // `squash_repeated_reads`: a read identical to the one before it (a polling loop, whose
  // length varies from run to run) is not an item of its own.
  explicit DiffItemReader(std::unique_ptr<trace::TraceReader> reader,
                          bool squash_repeated_reads = false)
      : reader_(std::move(reader)), squash_(squash_repeated_reads) {}
  // The next item, false at the end. Throws TraceReadError.
  bool next(DiffItem& item);
  const trace::TraceReader& reader() const { return *reader_; }

 private:
  std::unique_ptr<trace::TraceReader> reader_;
  bool read_item(DiffItem& item);
  std::map<int, std::pair<int, uint64_t>> maps_;  // map id: ordinal, physical start
  int next_ordinal_ = 1;
  bool squash_;
  std::string last_read_;  // the item before, when it was a read
};

class TraceDiff {
 public:
  // `window`: how far ahead (in items, each side) to look for the place where the traces meet
  // again after a difference; `anchor`: how many items in a row must agree there.
  TraceDiff(std::unique_ptr<trace::TraceReader> a, std::unique_ptr<trace::TraceReader> b,
            size_t window = 2000, size_t anchor = 4, bool squash_repeated_reads = false);
  // The next difference, false when the traces have no more. Throws TraceReadError.
  bool next_hunk(DiffHunk& hunk);
  uint64_t matched() const { return matched_; }  // items both traces have, so far

 private:
  bool fill(DiffItemReader& reader, std::deque<DiffItem>& items, bool& done, size_t count);
  bool agree(size_t i, size_t j);
  DiffItemReader a_;
  DiffItemReader b_;
  std::deque<DiffItem> a_items_;
  std::deque<DiffItem> b_items_;
  bool a_done_ = false;
  bool b_done_ = false;
  size_t window_;
  size_t anchor_;
  uint64_t matched_ = 0;
};

}  // namespace mmiotrace::analysis
