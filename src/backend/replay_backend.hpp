// mmiotrace: signal-safe
// The Replay backend: a recorded trace answers a program's accesses to one mapping. Reads
// return the recorded values, in order; writes are compared with the recorded ones. The first
// access that differs (or comes after the last recorded one) is written into the script, and
// the process is killed at once, before it acts on a value the trace cannot vouch for:
// `mmiotrace replay` reports it.
#pragma once

#include "backend/backend.hpp"
#include "backend/replay_script.hpp"

namespace mmiotrace::backend {

class ReplayBackend final : public Backend {
 public:
  // The accesses of a mapping whose first byte is at `base` in the recorded mapping.
  ReplayBackend(ReplayHeader& script, ReplayMap& map, uint64_t base)
      : script_(script), map_(map), base_(base) {}

  int read(uint64_t offset, size_t width, uint8_t* out) override;
  int write(uint64_t offset, size_t width, const uint8_t* in) override;
  // A locked read-modify-write: the recorded read, then the recorded write.
  int compare_exchange(uint64_t offset, size_t width, uint8_t* expected,
                       const uint8_t* desired) override;
  uintptr_t direct_address(uint64_t) override { return 0; }

 private:
  // Matches the program's access against the next recorded ones (a wide access may have been
  // recorded as several 8-byte lines of a text trace). Caller holds the map.
  bool serve(bool write, uint64_t offset, size_t width, uint8_t* bytes);
  [[noreturn]] void diverge(DivergenceReason reason, uint64_t index, bool write, uint64_t offset,
                            size_t width, const uint8_t* bytes);
  ReplayHeader& script_;
  ReplayMap& map_;
  uint64_t base_;
};

}  // namespace mmiotrace::backend
