// A progress bar for long work (reading a large trace), on stderr when stderr is a terminal,
// and silent otherwise. Normal context.
#pragma once

#include <cstdint>
#include <string>

namespace mmiotrace::analysis {

class Progress {
 public:
  // `what` names the work ("reading trace.bin"); `total` is its size in the unit of update()
  // (bytes of the file), 0 when unknown.
  Progress(std::string what, uint64_t total);
  ~Progress();  // clears the bar
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Where the work is: cheap enough to call for every event (redraws at most ten times a
  // second).
  void update(uint64_t done) {
    if (enabled_ && ++calls_ % 4096 == 0) redraw(done);
  }

 private:
  void redraw(uint64_t done);
  std::string what_;
  uint64_t total_;
  bool enabled_;
  uint64_t calls_ = 0;
  uint64_t last_draw_ns_ = 0;
  bool drawn_ = false;
};

}  // namespace mmiotrace::analysis
