// Interposers that keep the descriptors `mmiotrace record` gave the traced program (trace
// buffer, wakeup, markers) open when the program closes every descriptor it does not know,
// as daemons and careful exec() callers do: the processes it executes must find them. The
// program is told they were closed. Those that copy a descriptor tell the emulated VFIO
// (vfio_files.hpp), whose descriptors' copies must reach it too. Normal context, in the traced
// program. (No header: these define libc's own functions.)
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>

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
using DupFunction = int (*)(int);
using Dup2Function = int (*)(int, int);
using Dup3Function = int (*)(int, int, int);
using FcntlFunction = int (*)(int, int, ...);
std::atomic<CloseFunction> g_close;
std::atomic<DupFunction> g_dup;
std::atomic<Dup2Function> g_dup2;
std::atomic<Dup3Function> g_dup3;
std::atomic<FcntlFunction> g_fcntl, g_fcntl64;

// `copy`, made from `fd`, after telling the emulated VFIO.
int copied(int fd, int copy) {
  Shim* shim = active_shim();
  if (copy >= 0 && shim != nullptr && !shim->vfio->empty()) {
    int saved = errno;
    shim->vfio->note_copy(fd, copy);
    errno = saved;
  }
  return copy;
}

// fcntl(), whose third argument, when there is one, the kernel takes as an unsigned long.
int forward_fcntl(std::atomic<FcntlFunction>& cache, const char* name, int fd, int command,
                  va_list arguments) {
  auto argument = va_arg(arguments, unsigned long);
  int result = libc_function(cache, name)(fd, command, argument);
  if (command == F_DUPFD || command == F_DUPFD_CLOEXEC) return copied(fd, result);
  return result;
}

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

MMIOTRACE_EXPORT int dup(int fd) {
  return copied(fd, libc_function(g_dup, "dup")(fd));
}

MMIOTRACE_EXPORT int dup2(int fd, int copy) {
  return copied(fd, libc_function(g_dup2, "dup2")(fd, copy));
}

MMIOTRACE_EXPORT int dup3(int fd, int copy, int flags) {
  return copied(fd, libc_function(g_dup3, "dup3")(fd, copy, flags));
}

MMIOTRACE_EXPORT int fcntl(int fd, int command, ...) {
  va_list arguments;
  va_start(arguments, command);
  int result = forward_fcntl(g_fcntl, "fcntl", fd, command, arguments);
  va_end(arguments);
  return result;
}

MMIOTRACE_EXPORT int fcntl64(int fd, int command, ...) {
  va_list arguments;
  va_start(arguments, command);
  int result = forward_fcntl(g_fcntl64, "fcntl64", fd, command, arguments);
  va_end(arguments);
  return result;
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
