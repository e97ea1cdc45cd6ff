// Interposers that keep the descriptors `mmiotrace record` gave the traced program (trace
// buffer, wakeup, markers) open when the program closes every descriptor it does not know,
// as daemons and careful exec() callers do: the processes it executes must find them. The
// program is told they were closed. Normal context, in the traced program. (No header: these
// define libc's own functions.)
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <iterator>

#include "core/syscall.hpp"
#include "mmiotrace/mmiotrace.h"
#include "preload/libc_function.hpp"
#include "preload/shim.hpp"

using namespace mmiotrace;
using namespace mmiotrace::preload;

namespace {

using CloseFunction = int (*)(int);
std::atomic<CloseFunction> g_close;

// close_range() of [first, last], around the shim's own descriptors.
int close_range_around(unsigned first, unsigned last, unsigned flags, const Shim& shim) {
  unsigned cursor = first;
  int own[sizeof(shim.own_fds) / sizeof(shim.own_fds[0])];
  std::copy(std::begin(shim.own_fds), std::end(shim.own_fds), own);
  std::sort(std::begin(own), std::end(own));
  for (int fd : own) {
    if (fd < 0 || static_cast<unsigned>(fd) < cursor || static_cast<unsigned>(fd) > last) continue;
    if (static_cast<unsigned>(fd) > cursor) {
      long result = sys::syscall6(SYS_close_range, cursor, fd - 1, flags);
      if (result < 0) {
        errno = static_cast<int>(-result);
        return -1;
      }
    }
    cursor = static_cast<unsigned>(fd) + 1;
  }
  if (cursor > last || cursor == 0) return 0;
  long result = sys::syscall6(SYS_close_range, cursor, last, flags);
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return 0;
}

}  // namespace

extern "C" {

MMIOTRACE_EXPORT int close(int fd) {
  Shim* shim = active_shim();
  if (shim != nullptr && shim->owns(fd)) return 0;
  return libc_function(g_close, "close")(fd);
}

MMIOTRACE_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  Shim* shim = active_shim();
  if (shim == nullptr || first > last) {
    long result = sys::syscall6(SYS_close_range, first, last, flags);
    if (result < 0) {
      errno = static_cast<int>(-result);
      return -1;
    }
    return 0;
  }
  return close_range_around(first, last, static_cast<unsigned>(flags), *shim);
}

MMIOTRACE_EXPORT void closefrom(int lowest) {
  Shim* shim = active_shim();
  unsigned first = lowest < 0 ? 0 : static_cast<unsigned>(lowest);
  if (shim == nullptr) {
    sys::syscall6(SYS_close_range, first, ~0U, 0);
    return;
  }
  close_range_around(first, ~0U, 0, *shim);
}

}  // extern "C"
