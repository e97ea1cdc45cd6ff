// mmiotrace: signal-safe
// The process's own layout, read with raw system calls (see process_layout.hpp).
#include "core/process_layout.hpp"

#include <sys/resource.h>

#include <atomic>

#include "core/syscall.hpp"

namespace mmiotrace {
namespace {

constexpr uintptr_t kUserTop = uintptr_t{1} << 47;

// The main stack's start (startstack), read once: it never moves.
constinit std::atomic<uintptr_t> g_stack_start{0};

bool overlaps(uintptr_t address, size_t size, uintptr_t low, uintptr_t high) {
  return address < high && low < address + size;
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
  while (cursor > text && cursor[-1] != ')') --cursor;
  if (cursor == text) return -1;
  // " S ppid ...": the space before field 3, then field 3 (state), then field 4...
  for (int at = 2; at < field && cursor < end; ++cursor) {
    if (*cursor == ' ') ++at;
  }
  if (cursor == end || *cursor < '0' || *cursor > '9') return -1;
  long value = 0;
  for (; cursor < end && *cursor >= '0' && *cursor <= '9'; ++cursor) value = value * 10 + (*cursor - '0');
  return value;
}

bool clear_of_growth(uintptr_t address, size_t size) {
  long brk = sys::syscall6(SYS_brk, 0);
  if (brk > 0 && overlaps(address, size, static_cast<uintptr_t>(brk),
                          static_cast<uintptr_t>(brk) + kGrowthRoom)) {
    return false;
  }
  uintptr_t stack_start = g_stack_start.load(std::memory_order_relaxed);
  if (stack_start == 0) {
    long start = self_stat_field(28);
    if (start <= 0) return false;  // nowhere known to be safe
    stack_start = static_cast<uintptr_t>(start);
    g_stack_start.store(stack_start, std::memory_order_relaxed);
  }
  struct rlimit limit = {};
  if (sys::syscall6(SYS_prlimit64, 0, RLIMIT_STACK, 0, sys::as_long(&limit)) != 0) return false;
  uintptr_t stack_low;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= stack_start / 2) {
    stack_low = kUserTop / 2;
  } else {
    uint64_t room = limit.rlim_cur + kGrowthRoom;
    stack_low = stack_start > room ? stack_start - room : 0;
  }
  return !overlaps(address, size, stack_low, kUserTop);
}

}  // namespace mmiotrace
