// mmiotrace: signal-safe
// The binary trace format (docs/trace-format.md): a file header, then records of fixed layout
// per kind, 8-byte aligned, little-endian. The same records travel through the per-thread rings,
// so the writer copies them to the file as they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <immintrin.h>

#include "trace/event.hpp"

namespace mmiotrace::trace {

inline constexpr char kBinaryMagic[8] = {'M', 'M', 'I', 'O', 'T', 'R', 'C', '\0'};
inline constexpr uint32_t kBinaryVersion = 1;
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

inline constexpr size_t kMaxTextLength = 4000;  // markers and PCIDEV lines are cut to this
inline constexpr size_t kMaxRecordSize = 64 + kMaxTextLength;

inline void store64(uint8_t* at, uint64_t value) { std::memcpy(at, &value, sizeof(value)); }
// A non-temporal store: the line goes to memory without being read into this core's cache first.
// Records of a ring are read next by the writer on another core, so reading their lines here
// (from that core, where the writer left them) would cost more than the store. Stores made so
// must be fenced (_mm_sfence) before the record is published.
inline void stream64(uint8_t* at, uint64_t value) {
  _mm_stream_si64(reinterpret_cast<long long*>(at), static_cast<long long>(value));
}

constexpr size_t round_up8(size_t size) { return (size + 7) & ~size_t{7}; }

// The size of `event`'s record.
size_t record_size(const Event& event);

// Writes `event`'s record into `out` (room for record_size(event) bytes). Returns its size.
size_t encode_record(const Event& event, uint8_t* out);

// A read or write of 1 to 8 bytes, which is what translated code logs: its record is always
// kSmallAccessRecordSize bytes, and is made without an Event.
inline constexpr size_t kSmallAccessRecordSize = sizeof(RecordHeader) + 24;
struct SmallAccess {
  bool write;
  uint8_t width;  // 1 to 8
  int32_t map_id;
  uint32_t pid;
  uint32_t tid;
  uint64_t time_ns;
  uint64_t pc;
  uint64_t phys;
  uint64_t virt;
  uint64_t value;  // only its low `width` bytes are recorded
};
// Writes the same bytes as encode_record() would for the equivalent Event, with non-temporal
// stores (inline: it is the recording hot path of translated code).
inline void encode_small_access(const SmallAccess& access, uint8_t* out) {
  // RecordHeader's fields put together in registers and stored as whole words: building the
  // header in memory and copying it stalls on store forwarding, which costs more than the rest.
  static_assert(offsetof(RecordHeader, width) == 1 && offsetof(RecordHeader, size) == 2 &&
                offsetof(RecordHeader, map_id) == 4 && offsetof(RecordHeader, pid) == 8 &&
                offsetof(RecordHeader, tid) == 12 && offsetof(RecordHeader, time_ns) == 16 &&
                offsetof(RecordHeader, pc) == 24);
  auto kind = static_cast<uint64_t>(access.write ? RecordKind::Write : RecordKind::Read);
  stream64(out, kind | uint64_t{access.width} << 8 | uint64_t{kSmallAccessRecordSize} << 16 |
                 uint64_t{static_cast<uint32_t>(access.map_id)} << 32);
  stream64(out + 8, uint64_t{access.pid} | uint64_t{access.tid} << 32);
  stream64(out + 16, access.time_ns);
  stream64(out + 24, access.pc);
  stream64(out + 32, access.phys);
  stream64(out + 40, access.virt);
  uint64_t mask = access.width >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * access.width)) - 1;
  stream64(out + 48, access.value & mask);
}

// Reads the record at `bytes` (`available` bytes there). Returns its size, or 0 when it is
// malformed or incomplete (see `why`). Text fields of `event` point into `bytes`.
size_t decode_record(const uint8_t* bytes, size_t available, Event* event, const char** why);

}  // namespace mmiotrace::trace
