// mmiotrace: signal-safe
// Where a thread's code-cache access log lies when it is recorded: in the trace buffer's shared
// memory, one per ring, so that the recorder still reads what a thread logged after the thread
// died, even by SIGKILL (docs/code-cache.md, "What a killed thread leaves"). The layout is shared
// by the code cache (which writes the records), the recorder (which places the log and names the
// regions) and the trace drainer (which recovers the records of dead threads).
//
// Contract: only the owner thread of the ring writes it, and only while it lives; the drainer
// reads it, and clears it, once that thread is gone and its ring drained.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/access_record.hpp"

namespace mmiotrace {

// Records a thread's code-cache log holds before it hands them on.
inline constexpr size_t kAccessLogRecords = 256;
// The regions it names, most recent last (a ring of them).
inline constexpr size_t kStagedRegions = 256;

// A traced region as the trace names it: the map it belongs to, and its physical address.
struct StagedRegion {
  uint64_t low;
  uint64_t size;
  uint64_t phys;  // of `low`
  int32_t map_id;
  uint32_t reserved;
};

struct StagedAccessLog {
  // Non-zero while the owner hands records[] to its ring: the ring's head, plus one, when the
  // hand-over began. What the ring holds from there are records already handed over.
  std::atomic<uint64_t> handing_since;
  // Regions named so far: the last min(named, kStagedRegions) are in regions[i % kStagedRegions].
  // The owner names each region that its translated code reaches before the first record in it.
  std::atomic<uint64_t> regions_named;
  uint64_t reserved[6];
  StagedRegion regions[kStagedRegions];
  // A record is complete once its `info` is non-zero (written last); the owner clears `info`
  // of the records it has handed over.
  AccessRecord records[kAccessLogRecords];
};
static_assert(sizeof(StagedAccessLog) % 64 == 0);

}  // namespace mmiotrace
