// mmiotrace: signal-safe
// The replay script: the accesses of a recorded trace that `mmiotrace replay` serves back to a
// program, laid out in shared memory (a memfd the traced processes inherit). The command
// writes it before the program starts; the program's handlers (replay_backend.cpp) consume it
// and write the first divergence into it; the command reads that when the program has ended.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mmiotrace::backend {

inline constexpr char kReplayMagic[8] = {'M', 'M', 'I', 'O', 'R', 'P', 'L', '\0'};
inline constexpr uint32_t kReplayVersion = 1;
inline constexpr uint32_t kMaxReplayMaps = 64;
inline constexpr size_t kMaxReplayPath = 256;

// One recorded access.
struct ReplayAccess {
  uint8_t write = 0;  // 0: R, 1: W
  uint8_t width = 0;  // bytes, 1 to 64
  uint8_t reserved[6] = {};
  uint64_t offset = 0;    // from the start of the recorded mapping
  uint64_t pc = 0;        // of the instruction that made it
  uint64_t position = 0;  // in the trace file (ReplayHeader::position_kind says of what)
  uint8_t value[64] = {};
};

// A recorded mapping (MAP), and where the program maps it this time.
struct ReplayMap {
  int32_t map_id = 0;
  uint32_t reserved = 0;
  uint64_t phys = 0;
  uint64_t length = 0;
  uint64_t first = 0;  // its accesses: ReplayHeader::accesses()[first, first + count)
  uint64_t count = 0;
  std::atomic<uint64_t> next{0};  // accesses served so far
  std::atomic<uint32_t> busy{0};  // held around each access, by any thread of any process
  uint32_t reserved2 = 0;
  char path[kMaxReplayPath] = {};  // the path the program maps it through
};

enum class DivergenceReason : uint32_t {
  None = 0,
  Mismatch = 1,    // the program's access differs from the recorded one
  PastTheEnd = 2,  // the program accessed the mapping after its last recorded access
  EndedEarly = 3,  // the program ended before making all the recorded accesses
};

struct ReplayDivergence {
  int32_t map_id = 0;
  DivergenceReason reason = DivergenceReason::None;
  uint64_t index = 0;   // of the expected access among its map's (count when past the end)
  ReplayAccess actual;  // what the program did (`position` unused)
  int32_t pid = 0;
  int32_t tid = 0;
};

enum class PositionKind : uint32_t { Line = 0, Offset = 1, RecordOffset = 2 };

struct ReplayHeader {
  char magic[8] = {};
  uint32_t version = 0;
  uint32_t map_count = 0;
  PositionKind position_kind = PositionKind::Line;
  uint32_t reserved = 0;
  // 0 until a handler claims the first divergence, 1 while it writes it, 2 once written.
  std::atomic<uint32_t> diverged{0};
  uint32_t reserved2 = 0;
  ReplayDivergence divergence;
  ReplayMap maps[kMaxReplayMaps];

  ReplayAccess* accesses() { return reinterpret_cast<ReplayAccess*>(this + 1); }
  const ReplayAccess* accesses() const { return reinterpret_cast<const ReplayAccess*>(this + 1); }
  static size_t bytes_for(uint64_t access_count) {
    return sizeof(ReplayHeader) + access_count * sizeof(ReplayAccess);
  }
};

static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the script is shared between processes: its atomics must be lock-free");

}  // namespace mmiotrace::backend
