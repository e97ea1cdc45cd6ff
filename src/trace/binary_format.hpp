// mmiotrace: signal-safe
// The binary trace format (docs/trace-format.md): a file header, then records laid out by kind,
// 8-byte aligned, little-endian. The same records travel through the per-thread rings,
// so the writer copies them to the file as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "trace/event.hpp"
#include "trace/trace_sink.hpp"

namespace mmiotrace::trace {

inline constexpr char kBinaryMagic[8] = {'M', 'M', 'I', 'O', 'T', 'R', 'C', '\0'};
// Version 2 added the access run (RecordKind::AccessRun), version 3 the strided access run
// (RecordKind::StridedRun); a file of an earlier version is a valid file of a later one that holds
// none of them.
inline constexpr uint32_t kBinaryVersion = 3;
inline constexpr uint32_t kBinaryFlagZstd = 1;

// The file starts with this, uncompressed; with kBinaryFlagZstd the records after it form a
// zstd stream.
struct BinaryFileHeader {
  char magic[8];
  uint32_t version;
  uint32_t flags;
  uint32_t header_size;  // sizeof(BinaryFileHeader): later versions may grow it
  uint32_t reserved0;
  uint64_t reserved[5];
};
static_assert(sizeof(BinaryFileHeader) == 64);
// The longest header a reader accepts (a later version's, whose extra bytes it skips).
inline constexpr uint32_t kMaxHeaderSize = 1 << 16;

constexpr size_t round_up8(size_t size) {
  return (size + 7) & ~size_t{7};
}

// Record kinds in the file (stable numbers, unlike EventKind's).
enum class RecordKind : uint8_t {
  Padding = 0,  // rings only: the rest of the ring's end is unused
  Map = 1,
  Unmap = 2,
  Read = 3,
  Write = 4,
  Unknown = 5,
  Mark = 6,
  Lost = 7,
  PciDevice = 8,
  Ioctl = 9,
  AccessRun = 10,   // reads and writes of 1 to 8 bytes by one thread in one mapping, at one time
  Comment = 11,     // a '#' line of a text trace, whole (a TextBody)
  Segment = 12,     // another capture starts: map ids start again (the header only)
  StridedRun = 13,  // an access run whose addresses, PCs and widths repeat with a period
};

// The first 32 bytes of every record.
struct RecordHeader {
  uint8_t kind;
  uint8_t width;  // Read/Write: bytes of the value; Unknown: bytes of the instruction; AccessRun:
                  // bytes of an entry; StridedRun: its streams
  uint16_t size;  // the whole record, a multiple of 8
  int32_t map_id;
  uint32_t pid;
  uint32_t tid;
  uint64_t time_ns;
  uint64_t pc;
};
static_assert(sizeof(RecordHeader) == 32);

// What follows the header, per kind of record (all little-endian, 8-byte aligned):
struct AccessBody {  // Read, Write: then the value, zero-padded to a multiple of 8 bytes
  uint64_t phys;
  uint64_t virt;
};
struct UnknownBody {  // Unknown: the instruction's bytes (header.width of them) in `insn`
  uint64_t phys;
  uint64_t virt;
  uint8_t insn[16];
};
struct MapBody {  // Map
  uint64_t phys;
  uint64_t virt;
  uint64_t length;
};
struct LostBody {  // Lost
  uint64_t count;
};
struct TextBody {  // Mark, PciDevice, Comment: then the text, zero-padded to a multiple of 8 bytes
  uint64_t length;
};
struct IoctlBody {  // Ioctl: then the argument before and after, each zero-padded to 8 bytes
  uint32_t fd;
  uint32_t argument_size;
  uint64_t request;
  int64_t result;
  uint64_t argument;
  uint64_t logged_size;
};
struct AccessRunBody {  // AccessRun: then its entries
  uint64_t phys_base;
  uint64_t virt_base;
};
struct StridedRunBody {  // StridedRun: then its streams, then the values of its entries
  uint64_t phys_base;
  uint64_t virt_base;
  uint64_t count;  // entries: at least one per stream, at most kMaxAccessRunEntries
};
static_assert(sizeof(AccessBody) == 16 && sizeof(UnknownBody) == 32 && sizeof(MapBody) == 24 &&
              sizeof(LostBody) == 8 && sizeof(TextBody) == 8 && sizeof(IoctlBody) == 40 &&
              sizeof(AccessRunBody) == 16 && sizeof(StridedRunBody) == 24);

// An access run: the header (kind AccessRun; width: the size of its entries; pc: the PC its
// compact entries count from; the time of every entry), the physical and the virtual address of
// one place in the mapping (where the mapping begins), then its entries. It holds what
// translated code logs (core/access_record.hpp) in 16 bytes an access (24 when the compact form
// cannot hold one of them) instead of a 56-byte record.
inline constexpr size_t kAccessRunHeaderSize = sizeof(RecordHeader) + sizeof(AccessRunBody);
inline constexpr size_t kMaxAccessRunEntries = 1024;
// A compact entry: its first word holds the offset from the run's virtual address in bits 0-31,
// the PC's distance from the header's (signed) in bits 32-60, log2 of the width in bytes (1 to
// 8) in bits 61-62, bit 63 set for a write; then the value, zero-extended from its width.
inline constexpr size_t kAccessRunCompactEntrySize = 16;
inline constexpr unsigned kAccessRunPcShift = 32;
inline constexpr int64_t kAccessRunPcReach = int64_t{1} << 28;  // |PC - header's PC| below this
inline constexpr unsigned kAccessRunLog2WidthShift = 61;
// A wide entry: its first word holds the virtual address in bits 0-55 (user space never uses
// more), the width in bytes (1 to 8) in bits 56-59, bit 63 set for a write. Then the PC, then the
// value, zero-extended from its width.
inline constexpr size_t kAccessRunWideEntrySize = 24;
inline constexpr unsigned kAccessRunWidthShift = 56;
inline constexpr uint64_t kAccessRunAddressMask = (uint64_t{1} << kAccessRunWidthShift) - 1;
inline constexpr uint64_t kAccessRunWrite = uint64_t{1} << 63;
constexpr size_t access_run_size(size_t entries, size_t entry_size = kAccessRunWideEntrySize) {
  return kAccessRunHeaderSize + entries * entry_size;
}

// A strided access run: what a loop over device memory logs. The header (kind StridedRun; width:
// its number of streams, k, 1 to kMaxStridedStreams; pc: zero; the time of every entry), the
// physical and the virtual address of one place in the mapping, its number of entries, then k
// stream descriptors, then the values. Entry i belongs to stream i % k, in cycle i / k: it has the
// stream's width, direction and PC, and the stream's first address plus the cycle times the
// stream's stride (modulo 2^64). Its value is in the values (explicit streams: each cycle holds
// the values of its explicit streams, in stream order, each in its width's bytes, the last cycle
// those of the streams it reaches; zero-padded to a multiple of 8 bytes), in the descriptor
// (repeated streams: the same value in every cycle), or the previous stream's value in the same
// cycle (cut to this stream's width; never stream 0). Sequential accesses thus cost their value,
// or nothing, instead of a 16-byte entry.
inline constexpr size_t kStridedRunHeaderSize = sizeof(RecordHeader) + sizeof(StridedRunBody);
inline constexpr size_t kMaxStridedStreams = 8;
// A descriptor: its first word holds the first entry's virtual address in bits 0-55, the width in
// bytes (1 to 8) in bits 56-59, the value's mode in bits 60-61, bit 63 set for writes; then the
// PC, then the stride (signed), then the value of a repeated stream (zero-extended; zero in the
// other modes).
inline constexpr size_t kStridedStreamSize = 32;
inline constexpr unsigned kStridedModeShift = 60;
enum class StridedValue : uint8_t { Explicit = 0, Repeated = 1, Previous = 2 };
constexpr size_t strided_run_size(size_t streams, size_t value_bytes) {
  return kStridedRunHeaderSize + streams * kStridedStreamSize + round_up8(value_bytes);
}

inline constexpr size_t kMaxTextLength = 4000;  // markers and PCIDEV lines are cut to this
inline constexpr size_t kMaxRecordSize = access_run_size(kMaxAccessRunEntries) > 64 + kMaxTextLength
                                             ? access_run_size(kMaxAccessRunEntries)
                                             : 64 + kMaxTextLength;

inline void store64(uint8_t* at, uint64_t value) {
  std::memcpy(at, &value, sizeof(value));
}

// The size of `event`'s record.
size_t record_size(const Event& event);

// Writes `event`'s record into `out` (room for record_size(event) bytes). Returns its size.
size_t encode_record(const Event& event, uint8_t* out);
// The same, for a caller that has record_size(event) at hand.
size_t encode_record(const Event& event, uint8_t* out, size_t size);

// Writes entries [first, first + count) of `run` (count at most kMaxAccessRunEntries), or those
// up to the first the run does not hold (SmallAccessRun::holds()), as access run records at `out`
// (room for access_run_size(count) bytes: they never take more): strided runs where the accesses
// repeat a pattern and that pays, compact or wide runs in between. The records are the same, and
// the same bytes, as those of the entries it takes alone. Returns their size, and in `taken`, when
// not null, how many entries it took.
size_t encode_access_run(const SmallAccessRun& run, size_t first, size_t count, uint8_t* out,
                         size_t* taken = nullptr);

// A strided run's streams and where its values lie, as read_strided_run() checked them.
struct StridedRunLayout {
  struct Stream {
    uint64_t address;  // of its first entry
    uint64_t pc;
    uint64_t stride;
    uint64_t value;         // Repeated: the value
    uint32_t value_offset;  // Explicit: where its value lies in a cycle's values
    uint8_t width;
    bool write;
    StridedValue mode;
  };
  uint64_t phys_base;
  uint64_t virt_base;
  size_t streams;
  size_t count;
  size_t cycle_bytes;     // the values of one whole cycle
  const uint8_t* values;  // of cycle 0
  const uint8_t* end;     // of the record
  Stream stream[kMaxStridedStreams];
};

// Reads and checks the strided run at `record` (`size` bytes: its header's size). False when it is
// malformed (see `why`).
bool read_strided_run(const uint8_t* record, size_t size, StridedRunLayout* layout,
                      const char** why);

// The value of the entry of stream `stream` in cycle `cycle`: its low `width` bytes (the
// stream's width) are the entry's.
inline uint64_t strided_value(const StridedRunLayout& layout, size_t cycle, size_t stream) {
  for (;; --stream) {  // a Previous stream takes the one before's value (never stream 0's mode)
    const StridedRunLayout::Stream& s = layout.stream[stream];
    if (s.mode == StridedValue::Previous) continue;
    uint64_t value = s.value;
    if (s.mode == StridedValue::Explicit) {
      value = 0;
      std::memcpy(&value, layout.values + cycle * layout.cycle_bytes + s.value_offset, s.width);
    }
    return value;
  }
}

// The values of streams [0, streams) in cycle `cycle` (those it reaches), each zero-extended from
// its width, into values[]: what strided_value() gives, a cycle at once.
inline void strided_cycle_values(const StridedRunLayout& layout, size_t cycle, size_t streams,
                                 uint64_t* values) {
  const uint8_t* explicit_values = layout.values + cycle * layout.cycle_bytes;
  for (size_t s = 0; s < streams; ++s) {
    const StridedRunLayout::Stream& stream = layout.stream[s];
    const uint64_t mask = stream.width >= 8 ? ~uint64_t{0} : (uint64_t{1} << 8 * stream.width) - 1;
    uint64_t value = stream.value;
    if (stream.mode == StridedValue::Previous) {
      value = values[s - 1];
    } else if (stream.mode == StridedValue::Explicit) {
      const uint8_t* at = explicit_values + stream.value_offset;
      value = 0;
      if (layout.end - at >= 8) {
        std::memcpy(&value, at, 8);  // one load, then only its width's bytes
      } else {
        std::memcpy(&value, at, stream.width);
      }
    }
    values[s] = value & mask;
  }
}

// Reads the record at `bytes` (`available` bytes there). Returns its size, or 0 when it is
// malformed or incomplete (see `why`). Text fields of `event` point into `bytes`. Every kind of
// record holds one event, but an access run, which holds record_event_count() of them: `index`
// picks which (checked: 0 when out of range).
size_t decode_record(const uint8_t* bytes, size_t available, Event* event, const char** why,
                     size_t index = 0);

// How many events the record holds, once decode_record() has accepted it.
size_t record_event_count(const uint8_t* record);

// Calls `each(const Event&)` for every event of the record at `bytes`, in order. Returns the
// record's size, or 0 when it is malformed (see `why`), possibly after some events.
template <typename EachEvent>
size_t decode_events(const uint8_t* bytes, size_t available, const char** why, EachEvent&& each) {
  Event event;
  size_t size = decode_record(bytes, available, &event, why);
  if (size == 0) return 0;
  each(static_cast<const Event&>(event));
  size_t count = record_event_count(bytes);
  for (size_t i = 1; i < count; ++i) {
    if (decode_record(bytes, available, &event, why, i) == 0) return 0;
    each(static_cast<const Event&>(event));
  }
  return size;
}

}  // namespace mmiotrace::trace
