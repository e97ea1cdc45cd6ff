// mmiotrace: signal-safe
// The process's own layout, read with raw system calls (see process_layout.hpp).
#include "core/process_layout.hpp"

#include <sys/resource.h>

#include <atomic>

#include "core/syscall.hpp"

namespace mmiotrace {
namespace {

// The main stack's start (startstack), read once: it never moves.
constinit std::atomic<uintptr_t> g_stack_start{0};

bool overlaps(uintptr_t address, size_t size, uintptr_t low, uintptr_t high) {
  return address < high && low < address + size;
}

// The number at `cursor`, in `base` (10, or 16 in lower case), which it moves past the digits.
uint64_t parse_number(const char*& cursor, const char* end, unsigned base) {
  uint64_t value = 0;
  for (; cursor < end; ++cursor) {
    char c = *cursor;
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else {
      break;
    }
    value = value * base + digit;
  }
  return value;
}

// One line of /proc/self/maps (its first 127 characters: the path is not needed).
bool parse_maps_line(const char* line, size_t length, SelfMapping* out) {
  const char* cursor = line;
  const char* end = line + length;
  out->start = parse_number(cursor, end, 16);
  if (cursor == end || *cursor++ != '-') return false;
  out->end = parse_number(cursor, end, 16);
  if (end - cursor < 6 || *cursor++ != ' ') return false;
  out->readable = cursor[0] == 'r';
  out->writable = cursor[1] == 'w';
  out->executable = cursor[2] == 'x';
  cursor += 4;
  for (int field = 0; field < 2; ++field) {  // offset, device
    if (cursor == end || *cursor++ != ' ') return false;
    while (cursor < end && *cursor != ' ')
      ++cursor;
  }
  if (cursor == end || *cursor++ != ' ') return false;
  out->file = parse_number(cursor, end, 10) != 0;
  return true;
}

}  // namespace

long self_stat_field(int field) {
  long fd = sys::open_read_only("/proc/self/stat");
  if (fd < 0) return -1;
  char text[1024];
  long got;
  do {
    got = sys::read(static_cast<int>(fd), text, sizeof(text));
  } while (got == -4 /* EINTR */);
  sys::close(static_cast<int>(fd));
  if (got <= 0 || field < 4) return -1;
  const char* end = text + got;
  const char* cursor = end;
  // Past the command name, which may hold spaces and parentheses: the fields follow its last ')'.
  while (cursor > text && cursor[-1] != ')')
    --cursor;
  if (cursor == text) return -1;
  // " S ppid ...": the space before field 3, then field 3 (state), then field 4...
  for (int at = 2; at < field && cursor < end; ++cursor) {
    if (*cursor == ' ') ++at;
  }
  if (cursor == end || *cursor < '0' || *cursor > '9') return -1;
  return static_cast<long>(parse_number(cursor, end, 10));
}

bool self_mapping_of(uintptr_t address, SelfMapping* out) {
  long fd = sys::open_read_only("/proc/self/maps");
  if (fd < 0) return false;
  char chunk[1024];
  char line[128];
  size_t line_length = 0;
  bool found = false;
  for (;;) {
    long got = sys::read(static_cast<int>(fd), chunk, sizeof(chunk));
    if (got == -4 /* EINTR */) continue;
    if (got <= 0) break;
    for (long i = 0; i < got && !found; ++i) {
      if (chunk[i] != '\n') {
        if (line_length < sizeof(line)) line[line_length++] = chunk[i];
        continue;
      }
      SelfMapping mapping;
      if (parse_maps_line(line, line_length, &mapping) && mapping.start <= address &&
          address < mapping.end) {
        *out = mapping;
        found = true;
      }
      line_length = 0;
    }
    if (found) break;
  }
  sys::close(static_cast<int>(fd));
  return found;
}

GrowthRoom GrowthRoom::now() {
  GrowthRoom room;  // stack_low_ 0: nothing is clear, until the stack's place is known
  long brk = sys::syscall6(SYS_brk, 0);
  if (brk > 0) {
    room.heap_low_ = static_cast<uintptr_t>(brk);
    room.heap_high_ = room.heap_low_ + kGrowthRoom;
  }
  uintptr_t stack_start = g_stack_start.load(std::memory_order_relaxed);
  if (stack_start == 0) {
    long start = self_stat_field(28);
    if (start <= 0) return room;
    stack_start = static_cast<uintptr_t>(start);
    g_stack_start.store(stack_start, std::memory_order_relaxed);
  }
  struct rlimit limit = {};
  if (sys::syscall6(SYS_prlimit64, 0, RLIMIT_STACK, 0, sys::as_long(&limit)) != 0) return room;
  const uint64_t stack_room = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > kMaxStackRoom
                                  ? kMaxStackRoom
                                  : limit.rlim_cur;
  const uint64_t below = stack_room + kGrowthRoom;
  room.stack_low_ = stack_start > below ? stack_start - below : 0;
  return room;
}

bool GrowthRoom::clear(uintptr_t address, size_t size) const {
  return !overlaps(address, size, heap_low_, heap_high_) &&
         !overlaps(address, size, stack_low_, kUserSpaceEnd);
}

}  // namespace mmiotrace
