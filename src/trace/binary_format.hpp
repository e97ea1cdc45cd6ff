// mmiotrace: signal-safe
// The binary trace format (docs/trace-format.md): a file header, then records of fixed layout
// per kind, 8-byte aligned, little-endian. The same records travel through the per-thread rings,
// so the writer copies them to the file as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "trace/event.hpp"
#include "trace/trace_sink.hpp"

namespace mmiotrace::trace {

inline constexpr char kBinaryMagic[8] = {'M', 'M', 'I', 'O', 'T', 'R', 'C', '\0'};
// Version 2 added the access run (RecordKind::AccessRun); a version-1 file is a valid version-2
// file that holds none.
inline constexpr uint32_t kBinaryVersion = 2;
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
  AccessRun = 10,  // reads and writes of 1 to 8 bytes by one thread in one mapping, at one time
  Comment = 11,    // a '#' line of a text trace, whole (a TextBody)
  Segment = 12,    // another capture starts: map ids start again (the header only)
};

// The first 32 bytes of every record.
struct RecordHeader {
  uint8_t kind;
  uint8_t width;  // Read/Write: bytes of the value; Unknown: bytes of the instruction
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
static_assert(sizeof(AccessBody) == 16 && sizeof(UnknownBody) == 32 && sizeof(MapBody) == 24 &&
              sizeof(LostBody) == 8 && sizeof(TextBody) == 8 && sizeof(IoctlBody) == 40 &&
              sizeof(AccessRunBody) == 16);

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

inline constexpr size_t kMaxTextLength = 4000;  // markers and PCIDEV lines are cut to this
inline constexpr size_t kMaxRecordSize = access_run_size(kMaxAccessRunEntries) > 64 + kMaxTextLength
                                             ? access_run_size(kMaxAccessRunEntries)
                                             : 64 + kMaxTextLength;

inline void store64(uint8_t* at, uint64_t value) {
  std::memcpy(at, &value, sizeof(value));
}

constexpr size_t round_up8(size_t size) {
  return (size + 7) & ~size_t{7};
}

// The size of `event`'s record.
size_t record_size(const Event& event);

// Writes `event`'s record into `out` (room for record_size(event) bytes). Returns its size.
size_t encode_record(const Event& event, uint8_t* out);

// Writes entries [first, first + count) of `run` (count at most kMaxAccessRunEntries) as one
// access run record at `out` (room for access_run_size(count) bytes), compact when it can.
// Returns its size.
size_t encode_access_run(const SmallAccessRun& run, size_t first, size_t count, uint8_t* out);

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
