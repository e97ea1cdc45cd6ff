// Aligning two traces (see trace_diff.hpp).
#include "analysis/trace_diff.hpp"

#include <cstdio>
#include <cstring>

#include "core/hex_text.hpp"

namespace mmiotrace::analysis {
namespace {

std::string bytes_hex(const uint8_t* bytes, size_t size) {
  std::string text;
  for (size_t i = 0; i < size; ++i) {
    char byte[3];
    snprintf(byte, sizeof(byte), "%02x", bytes[i]);
    text += byte;
  }
  return text;
}

}  // namespace

bool DiffItemReader::next(DiffItem& item) {
  while (read_item(item)) {
    bool read = item.text.rfind("R ", 0) == 0;
    if (squash_ && read && item.text == last_read_) continue;
    last_read_ = read ? item.text : std::string();
    return true;
  }
  return false;
}

bool DiffItemReader::read_item(DiffItem& item) {
  trace::Event event;
  while (reader_->next(event)) {
    item.position = reader_->position();
    switch (event.kind) {
      case trace::EventKind::Map: {
        int ordinal = next_ordinal_++;
        maps_[event.map_id] = {ordinal, event.phys};
        item.text = "MAP map " + std::to_string(ordinal) + " phys " + hex_text(event.phys) +
                    " length " + hex_text(event.length);
        return true;
      }
      case trace::EventKind::Unmap: {
        auto found = maps_.find(event.map_id);
        item.text = "UNMAP map " + (found == maps_.end() ? "?" + std::to_string(event.map_id)
                                                         : std::to_string(found->second.first));
        return true;
      }
      case trace::EventKind::Read:
      case trace::EventKind::Write:
      case trace::EventKind::Unknown: {
        auto found = maps_.find(event.map_id);
        std::string where = found == maps_.end()
                                ? "phys " + hex_text(event.phys)
                                : "map " + std::to_string(found->second.first) + " +" +
                                      hex_text(event.phys - found->second.second);
        if (event.kind == trace::EventKind::Unknown) {
          item.text = "UNKNOWN " + where + " insn " + bytes_hex(event.insn, 3);
          return true;
        }
        std::string value;
        if (event.width <= 8) {
          uint64_t number = 0;
          std::memcpy(&number, event.value, event.width);
          value = hex_text(number);
        } else {
          value = bytes_hex(event.value, event.width);
        }
        item.text = std::string(event.kind == trace::EventKind::Read ? "R " : "W ") +
                    std::to_string(event.width) + " " + where + " " + value;
        return true;
      }
      case trace::EventKind::Ioctl: {
        size_t logged = event.logged_size;
        item.text = "ioctl request " + hex_text(event.request) + " size " +
                    std::to_string(event.argument_size) + " result " + std::to_string(event.result);
        if (event.before && logged) item.text += " before " + bytes_hex(event.before, logged);
        if (event.after && logged) item.text += " after " + bytes_hex(event.after, logged);
        return true;
      }
      case trace::EventKind::Segment:
        maps_.clear();  // another capture: its map ids start again
        continue;
      default:
        continue;  // markers, LOST, PCIDEV, comments: not the driver's behaviour
    }
  }
  return false;
}

TraceDiff::TraceDiff(std::unique_ptr<trace::TraceReader> a, std::unique_ptr<trace::TraceReader> b,
                     size_t window, size_t anchor, bool squash_repeated_reads)
    : a_(std::move(a), squash_repeated_reads),
      b_(std::move(b), squash_repeated_reads),
      window_(window),
      anchor_(anchor) {}

bool TraceDiff::fill(DiffItemReader& reader, std::deque<DiffItem>& items, bool& done,
                     size_t count) {
  while (!done && items.size() < count) {
    DiffItem item;
    if (!reader.next(item)) {
      done = true;
      break;
    }
    items.push_back(std::move(item));
  }
  return items.size() >= count;
}

// Whether A from i and B from j agree for `anchor_` items (or to the end of both).
bool TraceDiff::agree(size_t i, size_t j) {
  for (size_t k = 0; k < anchor_; ++k) {
    bool a_has = i + k < a_items_.size();
    bool b_has = j + k < b_items_.size();
    if (!a_has || !b_has) return !a_has && !b_has;
    if (a_items_[i + k].text != b_items_[j + k].text) return false;
  }
  return true;
}

bool TraceDiff::next_hunk(DiffHunk& hunk) {
  for (;;) {
    fill(a_, a_items_, a_done_, 1);
    fill(b_, b_items_, b_done_, 1);
    if (a_items_.empty() && b_items_.empty()) return false;
    if (!a_items_.empty() && !b_items_.empty() && a_items_.front().text == b_items_.front().text) {
      a_items_.pop_front();
      b_items_.pop_front();
      ++matched_;
      continue;
    }
    break;
  }
  // They part here: find where they meet again, nearest first (fewest items skipped in all).
  fill(a_, a_items_, a_done_, window_ + anchor_);
  fill(b_, b_items_, b_done_, window_ + anchor_);
  hunk = DiffHunk();
  hunk.a_position = a_items_.empty() ? "end" : a_items_.front().position;
  hunk.b_position = b_items_.empty() ? "end" : b_items_.front().position;
  size_t a_limit = std::min(window_, a_items_.size());
  size_t b_limit = std::min(window_, b_items_.size());
  size_t skip_a = a_limit;
  size_t skip_b = b_limit;
  bool met = false;
  for (size_t total = 1; total <= a_limit + b_limit && !met; ++total) {
    for (size_t i = total > b_limit ? total - b_limit : 0; i <= std::min(total, a_limit); ++i) {
      size_t j = total - i;
      if (i >= a_items_.size() && j >= b_items_.size()) {
        skip_a = i;
        skip_b = j;
        met = true;
        break;
      }
      if (i < a_items_.size() && j < b_items_.size() && agree(i, j)) {
        skip_a = i;
        skip_b = j;
        met = true;
        break;
      }
    }
  }
  // Not met within the window: everything in it differs; go on from there.
  for (size_t i = 0; i < skip_a; ++i) {
    hunk.only_in_a.push_back(std::move(a_items_.front()));
    a_items_.pop_front();
  }
  for (size_t j = 0; j < skip_b; ++j) {
    hunk.only_in_b.push_back(std::move(b_items_.front()));
    b_items_.pop_front();
  }
  return true;
}

}  // namespace mmiotrace::analysis
