// mmiotrace: signal-safe, vector-free
// Encoding and decoding binary trace records (see binary_format.hpp).
#include "trace/binary_format.hpp"

#include <cstddef>
#include <cstring>

#include "core/small_copy.hpp"

namespace mmiotrace::trace {
namespace {

RecordKind record_kind(EventKind kind) {
  switch (kind) {
    case EventKind::Map:
      return RecordKind::Map;
    case EventKind::Unmap:
      return RecordKind::Unmap;
    case EventKind::Read:
      return RecordKind::Read;
    case EventKind::Write:
      return RecordKind::Write;
    case EventKind::Unknown:
      return RecordKind::Unknown;
    case EventKind::Mark:
      return RecordKind::Mark;
    case EventKind::Lost:
      return RecordKind::Lost;
    case EventKind::PciDevice:
      return RecordKind::PciDevice;
    case EventKind::Ioctl:
      return RecordKind::Ioctl;
    case EventKind::Comment:
      return RecordKind::Comment;
    case EventKind::Segment:
      return RecordKind::Segment;
  }
  return RecordKind::Padding;
}

size_t logged_size(const Event& event) {
  return event.logged_size < kMaxIoctlLogged ? event.logged_size : kMaxIoctlLogged;
}

size_t text_length(const Event& event) {
  return event.text_length < kMaxTextLength ? event.text_length : kMaxTextLength;
}

uint64_t get64(const uint8_t* at) {
  uint64_t value;
  std::memcpy(&value, at, 8);
  return value;
}

// A record's body, as its struct says, at `at` (unaligned as far as the compiler knows).
template <typename Body>
void put(uint8_t* at, const Body& body) {
  std::memcpy(at, &body, sizeof(body));
}
template <typename Body>
Body get(const uint8_t* at) {
  Body body;
  std::memcpy(&body, at, sizeof(body));
  return body;
}

}  // namespace

size_t record_size(const Event& event) {
  constexpr size_t header = sizeof(RecordHeader);
  switch (event.kind) {
    case EventKind::Read:
    case EventKind::Write:
      return header + sizeof(AccessBody) + round_up8(event.width ? event.width : 1);
    case EventKind::Unknown:
      return header + sizeof(UnknownBody);
    case EventKind::Map:
      return header + sizeof(MapBody);
    case EventKind::Unmap:
    case EventKind::Segment:
      return header;
    case EventKind::Lost:
      return header + sizeof(LostBody);
    case EventKind::Mark:
    case EventKind::PciDevice:
    case EventKind::Comment:
      return header + sizeof(TextBody) + round_up8(text_length(event));
    case EventKind::Ioctl:
      return header + sizeof(IoctlBody) + 2 * round_up8(logged_size(event));
  }
  return header;
}

size_t encode_record(const Event& event, uint8_t* out) {
  return encode_record(event, out, record_size(event));
}

size_t encode_record(const Event& event, uint8_t* out, size_t size) {
  RecordHeader header;
  header.kind = static_cast<uint8_t>(record_kind(event.kind));
  header.width = event.kind == EventKind::Unknown ? event.insn_length : event.width;
  header.size = static_cast<uint16_t>(size);
  header.map_id = event.map_id;
  header.pid = static_cast<uint32_t>(event.pid);
  header.tid = static_cast<uint32_t>(event.tid);
  header.time_ns = event.time_ns;
  header.pc = event.pc;
  std::memcpy(out, &header, sizeof(header));
  uint8_t* body = out + sizeof(header);
  const size_t body_size = size - sizeof(header);
  switch (event.kind) {
    case EventKind::Read:
    case EventKind::Write: {
      put(body, AccessBody{event.phys, event.virt});
      // The value and the zeros that pad it to 8 bytes.
      uint8_t* value = body + sizeof(AccessBody);
      const size_t value_room = body_size - sizeof(AccessBody);
      const size_t width = event.width <= value_room ? event.width : value_room;
      if (value_room == 8) {
        uint64_t word = 0;
        std::memcpy(&word, event.value, width);
        store64(value, word);
      } else {
        copy_small(value, event.value, width);  // (no library call: this runs for every trap)
        zero_small(value + width, value_room - width);
      }
      break;
    }
    case EventKind::Unknown: {
      UnknownBody unknown = {event.phys, event.virt, {}};
      std::memcpy(unknown.insn, event.insn, sizeof(unknown.insn));
      put(body, unknown);
      break;
    }
    case EventKind::Map:
      put(body, MapBody{event.phys, event.virt, event.length});
      break;
    case EventKind::Unmap:
    case EventKind::Segment:
      break;
    case EventKind::Lost:
      put(body, LostBody{event.length});
      break;
    case EventKind::Mark:
    case EventKind::PciDevice:
    case EventKind::Comment: {
      const uint64_t length = text_length(event);
      put(body, TextBody{length});
      uint8_t* text = body + sizeof(TextBody);
      std::memset(text, 0, body_size - sizeof(TextBody));
      if (length) std::memcpy(text, event.text, length);
      break;
    }
    case EventKind::Ioctl: {
      const uint64_t logged = logged_size(event);
      put(body, IoctlBody{static_cast<uint32_t>(event.fd), event.argument_size, event.request,
                          event.result, event.virt, logged});
      uint8_t* before = body + sizeof(IoctlBody);
      uint8_t* after = before + round_up8(logged);
      std::memset(before, 0, body_size - sizeof(IoctlBody));
      if (logged && event.before) std::memcpy(before, event.before, logged);
      if (logged && event.after) std::memcpy(after, event.after, logged);
      break;
    }
  }
  return size;
}

namespace {

// An access run's header and base addresses; `entry_size` says which form its entries take.
void encode_access_run_header(const SmallAccessRun& run, size_t count, size_t entry_size,
                              uint64_t pc, uint8_t* out) {
  // Header words put together in registers: building it in memory and copying it would stall
  // on store forwarding.
  static_assert(offsetof(RecordHeader, width) == 1 && offsetof(RecordHeader, size) == 2 &&
                offsetof(RecordHeader, map_id) == 4 && offsetof(RecordHeader, pid) == 8 &&
                offsetof(RecordHeader, tid) == 12 && offsetof(RecordHeader, time_ns) == 16 &&
                offsetof(RecordHeader, pc) == 24);
  store64(out, uint64_t{static_cast<uint8_t>(RecordKind::AccessRun)} | uint64_t{entry_size} << 8 |
                   uint64_t{access_run_size(count, entry_size)} << 16 |
                   uint64_t{static_cast<uint32_t>(run.map_id)} << 32);
  store64(out + 8, uint64_t{static_cast<uint32_t>(run.pid)} |
                       uint64_t{static_cast<uint32_t>(run.tid)} << 32);
  store64(out + 16, run.time_ns);
  store64(out + 24, pc);
  uint8_t* body = out + sizeof(RecordHeader);
  store64(body + offsetof(AccessRunBody, phys_base), run.phys_base);
  store64(body + offsetof(AccessRunBody, virt_base), run.virt_base);
}

// By width in bytes (0 to 8): log2 of it, or kNotCompact; the mask of its value.
constexpr uint8_t kNotCompact = 0xff;
constexpr uint8_t kLog2Width[9] = {kNotCompact, 0,           1, kNotCompact, 2, kNotCompact,
                                   kNotCompact, kNotCompact, 3};
constexpr uint64_t kValueMask[9] = {0,           0xff,          0xffff,          0xffffff,
                                    0xffffffff,  0xff'ffffffff, 0xffff'ffffffff, 0xffffff'ffffffff,
                                    ~uint64_t{0}};

// Records [0, count) as one access run: compact when they all fit, wide otherwise.
size_t encode_plain_run(const SmallAccessRun& run, const AccessRecord* records, size_t count,
                        uint8_t* out) {
  const uint64_t base_pc = count > 0 ? records[0].pc : 0;
  uint8_t* entry = out + kAccessRunHeaderSize;
  size_t i = 0;
  for (; i < count; ++i, entry += kAccessRunCompactEntrySize) {
    const AccessRecord& record = records[i];
    const uint64_t width = record.info & 0xff;
    const uint64_t log2_width = width <= 8 ? kLog2Width[width] : kNotCompact;
    const uint64_t offset = record.address - run.virt_base;
    // The PC's distance, biased to be in [0, 2 * reach) when it fits.
    const uint64_t biased_pc = record.pc - base_pc + static_cast<uint64_t>(kAccessRunPcReach);
    if (log2_width == kNotCompact || (offset >> 32) != 0 ||
        biased_pc >= 2 * static_cast<uint64_t>(kAccessRunPcReach)) {
      break;
    }
    const uint64_t pc_bits =
        ((biased_pc - static_cast<uint64_t>(kAccessRunPcReach)) << kAccessRunPcShift) &
        ((uint64_t{1} << kAccessRunLog2WidthShift) - 1);
    const uint64_t write = (record.info & kAccessWrite) ? kAccessRunWrite : 0;
    store64(entry, offset | pc_bits | log2_width << kAccessRunLog2WidthShift | write);
    store64(entry + 8, record.value & kValueMask[width]);
  }
  if (i == count) {
    encode_access_run_header(run, count, kAccessRunCompactEntrySize, base_pc, out);
    return access_run_size(count, kAccessRunCompactEntrySize);
  }
  // An entry the compact form cannot hold: all of them wide.
  entry = out + kAccessRunHeaderSize;
  for (i = 0; i < count; ++i, entry += kAccessRunWideEntrySize) {
    const AccessRecord& record = records[i];
    uint64_t width = record.info & 0xff;
    uint64_t write = (record.info & kAccessWrite) ? kAccessRunWrite : 0;
    store64(entry,
            (record.address & kAccessRunAddressMask) | width << kAccessRunWidthShift | write);
    store64(entry + 8, record.pc);
    store64(entry + 16, record.value & kValueMask[width < 8 ? width : 8]);
  }
  encode_access_run_header(run, count, kAccessRunWideEntrySize, 0, out);
  return access_run_size(count, kAccessRunWideEntrySize);
}

// What the accesses of one stream of a strided run share.
constexpr uint64_t kStreamKey = kAccessWidthMask | kAccessWrite;

// The strided run that records [0, available) start with: `count` entries (0: none that pays) in
// `streams` streams, with their values' modes.
struct StridedPlan {
  size_t streams = 0;
  size_t count = 0;
  // The choice read records that the run does not hold: it ends before where the plan looked.
  bool past_run = false;
  size_t value_bytes = 0;
  uint64_t stride[kMaxStridedStreams];
  StridedValue mode[kMaxStridedStreams];
};

// How far records [0, available) follow the pattern of their first `k` (K, when not 0: the same,
// known at compile time), which set `stride`: returns the number of records that do. Meanwhile
// ORs into changed[s] how stream s's values differ from cycle to cycle, and into shared[s] how
// they differ from the access before's. Branch-free but for the pattern's end: this runs for
// every access a loop makes.
template <size_t K>
size_t follow_pattern(const AccessRecord* records, size_t available, size_t k,
                      const uint64_t* stride, uint64_t* changed, uint64_t* shared) {
  if constexpr (K != 0) k = K;
  constexpr size_t kMax = K != 0 ? K : kMaxStridedStreams;
  uint64_t pc[kMax], key[kMax], next_address[kMax], last_value[kMax];
  uint64_t changed_bits[kMax], shared_bits[kMax];
  for (size_t s = 0; s < k; ++s) {
    pc[s] = records[s].pc;
    key[s] = records[s].info & kStreamKey;
    next_address[s] = records[s].address + stride[s];
    last_value[s] = records[s].value;
    changed_bits[s] = changed[s];
    shared_bits[s] = shared[s];
  }
  size_t n = k;
  // Whole cycles, checked before any of their values is taken in.
  for (; n + k <= available; n += k) {
    const AccessRecord* cycle = records + n;
    uint64_t off = 0;
    for (size_t s = 0; s < k; ++s) {
      off |= (cycle[s].pc ^ pc[s]) | ((cycle[s].info & kStreamKey) ^ key[s]) |
             (cycle[s].address ^ next_address[s]);
    }
    if (off != 0) break;
    uint64_t before = last_value[k - 1];
    for (size_t s = 0; s < k; ++s) {
      const uint64_t value = cycle[s].value;
      changed_bits[s] |= value ^ last_value[s];
      shared_bits[s] |= value ^ before;
      before = value;
      last_value[s] = value;
      next_address[s] += stride[s];
    }
  }
  // What follows the pattern of the cycle that ends it.
  for (size_t s = 0; n < available && s < k; ++n, ++s) {
    const AccessRecord& access = records[n];
    if (((access.pc ^ pc[s]) | ((access.info & kStreamKey) ^ key[s]) |
         (access.address ^ next_address[s])) != 0) {
      break;
    }
    changed_bits[s] |= access.value ^ last_value[s];
    shared_bits[s] |= access.value ^ records[n - 1].value;
  }
  for (size_t s = 0; s < k; ++s) {
    changed[s] = changed_bits[s];
    shared[s] = shared_bits[s];
  }
  return n;
}

// Whether records [0, n) of a pattern of period `k` and strides `stride` (each stream's
// addresses go by its stride, as follow_pattern() found) all lie in `run`'s mapping: they do when
// each stream's first and last lie there and its stride walks from one to the other without
// wrapping around. Their widths are the first cycle's.
bool pattern_in_mapping(const SmallAccessRun& run, const AccessRecord* records, size_t k, size_t n,
                        const uint64_t* stride) {
  for (size_t s = 0; s < k && s < n; ++s) {
    const size_t steps = (n - 1 - s) / k;  // from the stream's first entry to its last
    const uint64_t first = records[s].address - run.virt_base;
    const uint64_t last = records[s + steps * k].address - run.virt_base;
    if (first >= run.virt_size || last >= run.virt_size) return false;
    int64_t walked;
    if (__builtin_mul_overflow(static_cast<int64_t>(stride[s]), static_cast<int64_t>(steps),
                               &walked)) {
      return false;
    }
    const uint64_t walked_bytes =
        walked >= 0 ? static_cast<uint64_t>(walked) : uint64_t{0} - static_cast<uint64_t>(walked);
    const bool walks_there = walked >= 0 ? last >= first && last - first == walked_bytes
                                         : first >= last && first - last == walked_bytes;
    if (!walks_there) return false;
  }
  return true;
}

// The plan for records [0, available) of `run`, or, unless `run_holds_all` (they are known to be
// the run's), one with `past_run` set when the choice would read a record the run may not hold.
// So a plan made is the one the records the run holds give alone, and the run's end is looked
// for only when it is near: every access the choice reads is checked, an access followed in a
// pattern by its stream's ends.
StridedPlan plan_strided_run(const SmallAccessRun& run, const AccessRecord* records,
                             size_t available, bool run_holds_all) {
  StridedPlan plan;
  if (available > kMaxAccessRunEntries) available = kMaxAccessRunEntries;
  // The period: the first access that repeats the first one's PC, width and direction.
  const AccessRecord& first = records[0];
  size_t k = 0;
  for (size_t c = 1; c <= kMaxStridedStreams && 2 * c <= available; ++c) {
    if (records[c].pc == first.pc && ((records[c].info ^ first.info) & kStreamKey) == 0) {
      k = c;
      break;
    }
  }
  if (k == 0) {
    plan.past_run = !run_holds_all && !run.holds(first);
    return plan;
  }
  // The two cycles that show the period (a loop whose streams lie in different mappings is none
  // of theirs); those after it once followed.
  for (size_t i = 0; i < 2 * k && !run_holds_all; ++i) {
    if (!run.holds(records[i])) {
      plan.past_run = true;
      return plan;
    }
  }
  uint64_t changed[kMaxStridedStreams];
  uint64_t shared[kMaxStridedStreams];
  for (size_t s = 0; s < k; ++s) {
    const uint64_t width = records[s].info & kAccessWidthMask;
    if (width == 0 || width > 8 || (records[s].address & ~kAccessRunAddressMask) != 0) return plan;
    plan.stride[s] = records[s + k].address - records[s].address;
    changed[s] = 0;
    // A stream shares the value of the stream before when it has its width (a choice of this
    // writer: readers cut a wider one's value to the width).
    shared[s] = s > 0 && width == (records[s - 1].info & kAccessWidthMask)
                    ? records[s].value ^ records[s - 1].value
                    : ~uint64_t{0};
  }
  size_t n;
  switch (k) {
    case 1:
      n = follow_pattern<1>(records, available, k, plan.stride, changed, shared);
      break;
    case 2:
      n = follow_pattern<2>(records, available, k, plan.stride, changed, shared);
      break;
    case 3:
      n = follow_pattern<3>(records, available, k, plan.stride, changed, shared);
      break;
    case 4:
      n = follow_pattern<4>(records, available, k, plan.stride, changed, shared);
      break;
    default:
      n = follow_pattern<0>(records, available, k, plan.stride, changed, shared);
      break;
  }
  if (!run_holds_all && !pattern_in_mapping(run, records, k, n, plan.stride)) {
    plan.past_run = true;
    return plan;
  }
  size_t explicit_bytes = 0;    // of a whole cycle
  size_t last_cycle_bytes = 0;  // of the streams the last, partial cycle reaches
  for (size_t s = 0; s < k; ++s) {
    const uint64_t width = records[s].info & kAccessWidthMask;
    plan.mode[s] = (changed[s] & kValueMask[width]) == 0  ? StridedValue::Repeated
                   : (shared[s] & kValueMask[width]) == 0 ? StridedValue::Previous
                                                          : StridedValue::Explicit;
    if (plan.mode[s] != StridedValue::Explicit) continue;
    explicit_bytes += width;
    if (s < n % k) last_cycle_bytes += width;
  }
  plan.value_bytes = n / k * explicit_bytes + last_cycle_bytes;
  // It pays when it is smaller than compact entries, counting the header of the run that the
  // accesses after it then need: so strided runs never take more room than wide ones.
  if (strided_run_size(k, plan.value_bytes) + kAccessRunHeaderSize <=
      n * kAccessRunCompactEntrySize) {
    plan.streams = k;
    plan.count = n;
  }
  return plan;
}

// Stores the values of records [0, count), `k` streams (K, when not 0: the same, known at compile
// time), explicit_width[s] bytes of stream s's (0: none), from `value` on; returns where they end.
// Each value is stored whole, and the next one over its bytes past its width: so a value costs
// one store. Near `end`, they are stored in their bytes alone.
template <size_t K>
uint8_t* store_values(const AccessRecord* records, size_t count, size_t k,
                      const size_t* explicit_width, uint8_t* value, const uint8_t* end) {
  if constexpr (K != 0) k = K;
  constexpr size_t kMax = K != 0 ? K : kMaxStridedStreams;
  size_t widths[kMax];
  size_t cycle_bytes = 0;
  for (size_t s = 0; s < k; ++s) {
    widths[s] = explicit_width[s];
    cycle_bytes += widths[s];
  }
  if (cycle_bytes == 0) return value;  // no explicit stream
  // Whole cycles whose stores all stay before `end`.
  size_t cycles = count / k;
  const size_t room = static_cast<size_t>(end - value);
  if (room < 8 + cycles * cycle_bytes) {
    cycles = room >= 8 + cycle_bytes ? (room - 8) / cycle_bytes : 0;
  }
  const AccessRecord* record = records;
  for (const AccessRecord* last = records + cycles * k; record != last; record += k) {
    for (size_t s = 0; s < k; ++s) {
      std::memcpy(value, &record[s].value, 8);
      value += widths[s];
    }
  }
  for (size_t i = static_cast<size_t>(record - records), s = 0; i < count; ++i) {
    std::memcpy(value, &records[i].value, widths[s]);
    value += widths[s];
    s = s + 1 == k ? 0 : s + 1;
  }
  return value;
}

size_t encode_strided_run(const SmallAccessRun& run, const AccessRecord* records,
                          const StridedPlan& plan, uint8_t* out) {
  const size_t k = plan.streams;
  const size_t size = strided_run_size(k, plan.value_bytes);
  store64(out, uint64_t{static_cast<uint8_t>(RecordKind::StridedRun)} | uint64_t{k} << 8 |
                   uint64_t{size} << 16 | uint64_t{static_cast<uint32_t>(run.map_id)} << 32);
  store64(out + 8, uint64_t{static_cast<uint32_t>(run.pid)} |
                       uint64_t{static_cast<uint32_t>(run.tid)} << 32);
  store64(out + 16, run.time_ns);
  store64(out + 24, 0);
  uint8_t* body = out + sizeof(RecordHeader);
  store64(body + offsetof(StridedRunBody, phys_base), run.phys_base);
  store64(body + offsetof(StridedRunBody, virt_base), run.virt_base);
  store64(body + offsetof(StridedRunBody, count), plan.count);
  uint8_t* stream = out + kStridedRunHeaderSize;
  size_t explicit_width[kMaxStridedStreams];  // bytes of its value in a cycle's: 0 but explicit
  for (size_t s = 0; s < k; ++s, stream += kStridedStreamSize) {
    const AccessRecord& access = records[s];
    const uint64_t width = access.info & kAccessWidthMask;
    const uint64_t write = (access.info & kAccessWrite) ? kAccessRunWrite : 0;
    store64(stream, access.address | width << kAccessRunWidthShift |
                        uint64_t{static_cast<uint8_t>(plan.mode[s])} << kStridedModeShift | write);
    store64(stream + 8, access.pc);
    store64(stream + 16, plan.stride[s]);
    store64(stream + 24,
            plan.mode[s] == StridedValue::Repeated ? access.value & kValueMask[width] : 0);
    explicit_width[s] = plan.mode[s] == StridedValue::Explicit ? width : 0;
  }
  uint8_t* const end = out + size;
  uint8_t* value;
  switch (k) {
    case 1:
      value = store_values<1>(records, plan.count, k, explicit_width, stream, end);
      break;
    case 2:
      value = store_values<2>(records, plan.count, k, explicit_width, stream, end);
      break;
    case 3:
      value = store_values<3>(records, plan.count, k, explicit_width, stream, end);
      break;
    case 4:
      value = store_values<4>(records, plan.count, k, explicit_width, stream, end);
      break;
    default:
      value = store_values<0>(records, plan.count, k, explicit_width, stream, end);
      break;
  }
  std::memset(value, 0, static_cast<size_t>(end - value));
  return size;
}

}  // namespace

size_t encode_access_run(const SmallAccessRun& run, size_t first, size_t count, uint8_t* out,
                         size_t* taken) {
  const AccessRecord* records = run.records + first;
  // The smallest strided run (one stream, its value repeated) and the header of the run after it
  // take more room than this many compact entries: fewer never make a strided run that pays
  // (plan_strided_run()), and are written plain at once. An emulated access is one.
  constexpr size_t kFewestStridedEntries =
      (strided_run_size(1, 0) + kAccessRunHeaderSize) / kAccessRunCompactEntrySize + 1;
  if (count < kFewestStridedEntries) {
    size_t held = 0;
    while (held < count && run.holds(records[held]))
      ++held;
    if (taken != nullptr) *taken = held;
    return held > 0 ? encode_plain_run(run, records, held, out) : 0;
  }
  uint8_t* const start = out;
  size_t plain = 0;            // records [plain, i) go in a plain run before the next strided one
  bool run_holds_all = false;  // records [0, count) are known to be the run's
  for (size_t i = 0; i < count;) {
    const StridedPlan plan = plan_strided_run(run, records + i, count - i, run_holds_all);
    if (plan.past_run) {
      // Only here are the records checked one by one (once): to find where the run ends, and
      // plan again over what it holds.
      size_t end = i;
      while (end < count && run.holds(records[end]))
        ++end;
      count = end;
      run_holds_all = true;
      continue;
    }
    if (plan.count == 0) {
      ++i;
      continue;
    }
    if (plain < i) out += encode_plain_run(run, records + plain, i - plain, out);
    out += encode_strided_run(run, records + i, plan, out);
    i += plan.count;
    plain = i;
  }
  if (plain < count) out += encode_plain_run(run, records + plain, count - plain, out);
  if (taken != nullptr) *taken = count;
  return static_cast<size_t>(out - start);
}

size_t record_event_count(const uint8_t* record) {
  RecordHeader header;
  std::memcpy(&header, record, sizeof(header));
  switch (static_cast<RecordKind>(header.kind)) {
    case RecordKind::AccessRun:
      return (header.size - kAccessRunHeaderSize) / header.width;
    case RecordKind::StridedRun:
      return get64(record + sizeof(RecordHeader) + offsetof(StridedRunBody, count));
    default:
      return 1;
  }
}

namespace {

// The body of a record being decoded: its kind's struct, then what follows it, checked against
// the record's size.
class BodyReader {
 public:
  BodyReader(const uint8_t* body, size_t size, const char** why)
      : body_(body), size_(size), why_(why) {}

  // The body's struct, when the record is large enough for it and `extra` bytes after it.
  template <typename Body>
  bool read(Body* out, size_t extra = 0) {
    if (size_ < sizeof(Body) || size_ - sizeof(Body) < extra) {
      *why_ = "the record is too small for its kind";
      return false;
    }
    *out = get<Body>(body_);
    return true;
  }
  // The bytes after the struct `Body`.
  template <typename Body>
  const uint8_t* after() const {
    return body_ + sizeof(Body);
  }

 private:
  const uint8_t* body_;
  size_t size_;
  const char** why_;
};

// Entry `index` of the access run whose header and body are given, into `event`.
bool decode_access_run_entry(const uint8_t* bytes, const RecordHeader& header,
                             const AccessRunBody& run, size_t index, Event* event,
                             const char** why) {
  const size_t entry_size = header.width;
  if (entry_size != kAccessRunCompactEntrySize && entry_size != kAccessRunWideEntrySize) {
    *why = "the access run's entries have an unknown size";
    return false;
  }
  if (header.size < access_run_size(1, entry_size) ||
      (header.size - kAccessRunHeaderSize) % entry_size != 0) {
    *why = "the access run's size is not that of a whole number of entries";
    return false;
  }
  if (index >= (header.size - kAccessRunHeaderSize) / entry_size) {
    *why = "the access run has no such entry";
    return false;
  }
  const uint8_t* entry = bytes + kAccessRunHeaderSize + index * entry_size;
  const uint64_t first = get64(entry);
  uint64_t width;
  if (entry_size == kAccessRunCompactEntrySize) {
    width = uint64_t{1} << ((first >> kAccessRunLog2WidthShift) & 3);
    event->virt = run.virt_base + (first & 0xffffffff);
    // The PC's distance: bits 32-60, sign-extended.
    auto delta = static_cast<int64_t>(first << (64 - kAccessRunLog2WidthShift)) >>
                 (64 - kAccessRunLog2WidthShift + kAccessRunPcShift);
    event->pc = header.pc + static_cast<uint64_t>(delta);
    std::memcpy(event->value, entry + 8, width);
  } else {
    width = (first >> kAccessRunWidthShift) & 0x7f;
    if (width == 0 || width > 8) {
      *why = "an entry of the access run has an impossible width";
      return false;
    }
    event->virt = first & kAccessRunAddressMask;
    event->pc = get64(entry + 8);
    std::memcpy(event->value, entry + 16, width);
  }
  event->kind = (first & kAccessRunWrite) ? EventKind::Write : EventKind::Read;
  event->width = static_cast<uint8_t>(width);
  event->phys = run.phys_base + (event->virt - run.virt_base);
  return true;
}

// Entry `index` of the strided run at `bytes` (`size` bytes), into `event`.
bool decode_strided_run_entry(const uint8_t* bytes, size_t size, size_t index, Event* event,
                              const char** why) {
  StridedRunLayout layout;
  if (!read_strided_run(bytes, size, &layout, why)) return false;
  if (index >= layout.count) {
    *why = "the access run has no such entry";
    return false;
  }
  const size_t cycle = index / layout.streams;
  const size_t s = index % layout.streams;
  const StridedRunLayout::Stream& stream = layout.stream[s];
  event->kind = stream.write ? EventKind::Write : EventKind::Read;
  event->width = stream.width;
  event->pc = stream.pc;
  event->virt = stream.address + cycle * stream.stride;
  event->phys = layout.phys_base + (event->virt - layout.virt_base);
  const uint64_t value = strided_value(layout, cycle, s);
  std::memcpy(event->value, &value, stream.width);
  return true;
}

}  // namespace

bool read_strided_run(const uint8_t* record, size_t size, StridedRunLayout* layout,
                      const char** why) {
  const size_t streams = record[offsetof(RecordHeader, width)];
  if (streams == 0 || streams > kMaxStridedStreams) {
    *why = "the strided run has an impossible number of streams";
    return false;
  }
  if (size < strided_run_size(streams, 0)) {
    *why = "the record is too small for its kind";
    return false;
  }
  const StridedRunBody body = get<StridedRunBody>(record + sizeof(RecordHeader));
  if (body.count < streams || body.count > kMaxAccessRunEntries) {
    *why = "the strided run has an impossible number of entries";
    return false;
  }
  layout->phys_base = body.phys_base;
  layout->virt_base = body.virt_base;
  layout->streams = streams;
  layout->count = body.count;
  const uint8_t* descriptor = record + kStridedRunHeaderSize;
  size_t cycle_bytes = 0;
  size_t last_cycle_bytes = 0;  // of the streams the last cycle reaches
  for (size_t s = 0; s < streams; ++s, descriptor += kStridedStreamSize) {
    StridedRunLayout::Stream& stream = layout->stream[s];
    const uint64_t first = get64(descriptor);
    const uint64_t width = (first >> kAccessRunWidthShift) & 0xf;
    const uint64_t mode = (first >> kStridedModeShift) & 7;
    if (width == 0 || width > 8 || mode > static_cast<uint8_t>(StridedValue::Previous) ||
        (s == 0 && mode == static_cast<uint8_t>(StridedValue::Previous))) {
      *why = "a stream of the strided run has an impossible width or value";
      return false;
    }
    stream.address = first & kAccessRunAddressMask;
    stream.pc = get64(descriptor + 8);
    stream.stride = get64(descriptor + 16);
    stream.value = get64(descriptor + 24);
    stream.width = static_cast<uint8_t>(width);
    stream.write = (first & kAccessRunWrite) != 0;
    stream.mode = static_cast<StridedValue>(mode);
    stream.value_offset = static_cast<uint32_t>(cycle_bytes);
    if (stream.mode == StridedValue::Explicit) {
      cycle_bytes += width;
      if (s < body.count % streams) last_cycle_bytes += width;
    }
  }
  layout->cycle_bytes = cycle_bytes;
  layout->values = descriptor;
  layout->end = record + size;
  if (size != strided_run_size(streams, body.count / streams * cycle_bytes + last_cycle_bytes)) {
    *why = "the strided run's size is not that of its values";
    return false;
  }
  return true;
}

size_t decode_record(const uint8_t* bytes, size_t available, Event* event, const char** why,
                     size_t index) {
  if (available < sizeof(RecordHeader)) {
    *why = "the record is cut short";
    return 0;
  }
  const RecordHeader header = get<RecordHeader>(bytes);
  if (header.size < sizeof(RecordHeader) || header.size % 8 != 0) {
    *why = "the record has an impossible size";
    return 0;
  }
  if (header.size > available) {
    *why = "the record is cut short";
    return 0;
  }
  const auto kind = static_cast<RecordKind>(header.kind);
  if (index != 0 && kind != RecordKind::AccessRun && kind != RecordKind::StridedRun) {
    *why = "the record holds one event";
    return 0;
  }
  *event = Event{};
  event->map_id = header.map_id;
  event->pid = static_cast<int32_t>(header.pid);
  event->tid = static_cast<int32_t>(header.tid);
  event->time_ns = header.time_ns;
  event->pc = header.pc;
  BodyReader body(bytes + sizeof(header), header.size - sizeof(header), why);
  switch (kind) {
    case RecordKind::Read:
    case RecordKind::Write: {
      if (header.width == 0 || header.width > kMaxEventWidth) {
        *why = "the access has an impossible width";
        return 0;
      }
      AccessBody access;
      if (!body.read(&access, round_up8(header.width))) return 0;
      event->kind = kind == RecordKind::Read ? EventKind::Read : EventKind::Write;
      event->width = header.width;
      event->phys = access.phys;
      event->virt = access.virt;
      std::memcpy(event->value, body.after<AccessBody>(), header.width);
      break;
    }
    case RecordKind::Unknown: {
      UnknownBody unknown;
      if (!body.read(&unknown)) return 0;
      if (header.width > sizeof(event->insn)) {
        *why = "the instruction is too long";
        return 0;
      }
      event->kind = EventKind::Unknown;
      event->insn_length = header.width;
      event->phys = unknown.phys;
      event->virt = unknown.virt;
      static_assert(sizeof(event->insn) <= sizeof(unknown.insn));
      std::memcpy(event->insn, unknown.insn, sizeof(event->insn));
      break;
    }
    case RecordKind::Map: {
      MapBody map;
      if (!body.read(&map)) return 0;
      event->kind = EventKind::Map;
      event->phys = map.phys;
      event->virt = map.virt;
      event->length = map.length;
      break;
    }
    case RecordKind::Unmap:
      event->kind = EventKind::Unmap;
      break;
    case RecordKind::Segment:
      event->kind = EventKind::Segment;
      break;
    case RecordKind::Lost: {
      LostBody lost;
      if (!body.read(&lost)) return 0;
      event->kind = EventKind::Lost;
      event->length = lost.count;
      break;
    }
    case RecordKind::Mark:
    case RecordKind::PciDevice:
    case RecordKind::Comment: {
      TextBody text;
      if (!body.read(&text)) return 0;
      if (text.length > kMaxTextLength) {
        *why = "the text is longer than any writer makes";
        return 0;
      }
      if (!body.read(&text, text.length)) return 0;
      event->kind = kind == RecordKind::Mark        ? EventKind::Mark
                    : kind == RecordKind::PciDevice ? EventKind::PciDevice
                                                    : EventKind::Comment;
      event->text = reinterpret_cast<const char*>(body.after<TextBody>());
      event->text_length = static_cast<uint32_t>(text.length);
      break;
    }
    case RecordKind::Ioctl: {
      IoctlBody ioctl;
      if (!body.read(&ioctl)) return 0;
      if (ioctl.logged_size > kMaxIoctlLogged) {
        *why = "the ioctl argument is longer than any writer keeps";
        return 0;
      }
      if (!body.read(&ioctl, 2 * round_up8(ioctl.logged_size))) return 0;
      event->kind = EventKind::Ioctl;
      event->fd = static_cast<int32_t>(ioctl.fd);
      event->argument_size = ioctl.argument_size;
      event->request = ioctl.request;
      event->result = ioctl.result;
      event->virt = ioctl.argument;
      event->logged_size = static_cast<uint32_t>(ioctl.logged_size);
      event->before = body.after<IoctlBody>();
      event->after = body.after<IoctlBody>() + round_up8(ioctl.logged_size);
      break;
    }
    case RecordKind::AccessRun: {
      AccessRunBody run;
      if (!body.read(&run)) return 0;
      if (!decode_access_run_entry(bytes, header, run, index, event, why)) return 0;
      break;
    }
    case RecordKind::StridedRun:
      if (!decode_strided_run_entry(bytes, header.size, index, event, why)) return 0;
      break;
    case RecordKind::Padding:
    default:
      *why = "the record has an unknown kind";
      return 0;
  }
  return header.size;
}

}  // namespace mmiotrace::trace
