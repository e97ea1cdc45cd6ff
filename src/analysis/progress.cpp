// The progress bar (see progress.hpp).
#include "analysis/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "core/monotonic_clock.hpp"

namespace mmiotrace::analysis {

Progress::Progress(std::string what, uint64_t total)
    : what_(std::move(what)), total_(total), enabled_(isatty(2) != 0) {}

Progress::~Progress() {
  if (drawn_) fprintf(stderr, "\r\033[K");
}

void Progress::redraw(uint64_t done) {
  uint64_t now = monotonic_ns();
  if (now - last_draw_ns_ < 100'000'000) return;
  last_draw_ns_ = now;
  drawn_ = true;
  if (total_ == 0) {
    fprintf(stderr, "\r\033[K%s: %.1f MB", what_.c_str(), static_cast<double>(done) / 1e6);
    return;
  }
  double fraction = done >= total_ ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  constexpr int kWidth = 30;
  int filled = static_cast<int>(fraction * kWidth);
  fprintf(stderr, "\r\033[K%s [%.*s%*s] %3d%%", what_.c_str(), filled,
          "##############################", kWidth - filled, "", static_cast<int>(fraction * 100));
}

}  // namespace mmiotrace::analysis
