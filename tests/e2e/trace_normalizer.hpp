// Checking a recorded text trace against the program that made it, and reducing it to what an
// expected trace can state: times, virtual addresses, PCs and PIDs vary from run to run, so they
// are checked here (times never go back; each PC is an instruction of the program that makes an
// access of the logged width and direction) and then replaced by T, VIRT, PC, and PID, PID2...
// in order of appearance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmiotrace::e2e {

// The executable segments of a non-PIE ELF program, to read its instructions by address.
class ProgramImage {
 public:
  explicit ProgramImage(const std::string& path);
  // Up to 15 bytes of code at `address`; empty when the address is not in the program's code.
  std::vector<uint8_t> code_at(uint64_t address) const;

 private:
  struct Segment {
    uint64_t address;
    std::vector<uint8_t> bytes;
  };
  std::vector<Segment> segments_;
};

struct NormalizedTrace {
  std::string text;
  std::vector<std::string> problems;  // each names the line it is about
};

// `directory` (the program's working directory) becomes DIR in markers, and so do addresses
// (ADDR): they vary from run to run.
NormalizedTrace normalize_trace(const std::string& trace, const ProgramImage& program,
                                const std::string& directory);

// A read or write line of a text trace: "R|W WIDTH TIME MAP PHYS VALUE PC PID".
struct AccessLine {
  char kind = 0;      // 'R' or 'W'
  uint64_t phys = 0;  // for a mapped regular file, the offset in it
  uint64_t value = 0;
};
// Whether `line` is a read or write line; fills `out` when it is.
bool parse_access_line(const std::string& line, AccessLine* out);

// Lines of `text` without mmiotrace's own diagnostics ("mmiotrace: ..."), to compare a traced
// program's stderr with its untraced one.
std::string without_diagnostics(const std::string& text);

}  // namespace mmiotrace::e2e
