// Interposers for the system calls a program may hand a traced buffer, which the kernel cannot
// reach (its pages are armed: PROT_NONE) and would fail with EFAULT, whether through libc's
// wrapper or through syscall(): the data goes through a
// bounce buffer, copied through the aliases and recorded as block reads and writes. Also logs
// every ioctl() on a traced file: request, argument before and after, and result. Normal
// context, in the traced program; each interposer costs one lock-free look-up when no buffer is
// traced. (No header: these define libc's own functions.)
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "arch/machine.hpp"
#include "core/address_range.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.h"
#include "preload/libc_function.hpp"
#include "preload/shim.hpp"
#include "trace/event.hpp"

using namespace mmiotrace;
using namespace mmiotrace::preload;

namespace {

uintptr_t caller_pc(void* return_address) {
  return reinterpret_cast<uintptr_t>(return_address);
}

bool traced_buffer(const void* buffer, size_t size) {
  if (active_shim() == nullptr || size == 0) return false;
  auto begin = reinterpret_cast<uintptr_t>(buffer);
  if (begin + size < begin) return false;  // the kernel's own EFAULT
  return kmmio::touches_armed_page(AddressRange::from_size(begin, size).pages());
}

bool traced_vector(const struct iovec* vector, int count) {
  if (active_shim() == nullptr || vector == nullptr || count <= 0) return false;
  for (int i = 0; i < count; ++i) {
    if (traced_buffer(vector[i].iov_base, vector[i].iov_len)) return true;
  }
  return false;
}

// A call that fills a buffer (read, pread, recv...): done into a bounce buffer, whose first
// `result` bytes are then written to the program's buffer.
template <typename Call>
ssize_t fill_buffer(void* buffer, size_t size, uintptr_t pc, Call call) {
  std::vector<uint8_t> bounce(size);
  ssize_t result = call(bounce.data());
  if (result > 0 && !copy_to_program(reinterpret_cast<uintptr_t>(buffer),
                                     static_cast<size_t>(result), bounce.data(), pc)) {
    return -1;  // errno EFAULT; the data is lost, as the kernel would lose it
  }
  return result;
}

// A call that consumes a buffer (write, pwrite, send...): the program's bytes are copied to a
// bounce buffer first.
template <typename Call>
ssize_t drain_buffer(const void* buffer, size_t size, uintptr_t pc, Call call) {
  std::vector<uint8_t> bounce(size);
  if (!copy_from_program(reinterpret_cast<uintptr_t>(buffer), size, bounce.data(), pc)) return -1;
  return call(bounce.data());
}

size_t vector_size(const struct iovec* vector, int count) {
  size_t total = 0;
  for (int i = 0; i < count; ++i)
    total += vector[i].iov_len;
  return total;
}

template <typename Call>
ssize_t fill_vector(const struct iovec* vector, int count, uintptr_t pc, Call call) {
  std::vector<uint8_t> bounce(vector_size(vector, count));
  struct iovec whole = {bounce.data(), bounce.size()};
  ssize_t result = call(&whole);
  size_t left = result > 0 ? static_cast<size_t>(result) : 0;
  const uint8_t* from = bounce.data();
  for (int i = 0; i < count && left > 0; ++i) {
    size_t part = std::min(left, vector[i].iov_len);
    if (!copy_to_program(reinterpret_cast<uintptr_t>(vector[i].iov_base), part, from, pc)) {
      return -1;
    }
    from += part;
    left -= part;
  }
  return result;
}

template <typename Call>
ssize_t drain_vector(const struct iovec* vector, int count, uintptr_t pc, Call call) {
  std::vector<uint8_t> bounce(vector_size(vector, count));
  uint8_t* to = bounce.data();
  for (int i = 0; i < count; ++i) {
    if (!copy_from_program(reinterpret_cast<uintptr_t>(vector[i].iov_base), vector[i].iov_len, to,
                           pc)) {
      return -1;
    }
    to += vector[i].iov_len;
  }
  struct iovec whole = {bounce.data(), bounce.size()};
  return call(&whole);
}

bool traced_message(const struct msghdr* message) {
  if (active_shim() == nullptr || message == nullptr) return false;
  return traced_vector(message->msg_iov, static_cast<int>(message->msg_iovlen)) ||
         traced_buffer(message->msg_control, message->msg_controllen);
}

// sendmsg(): the message's data and control bytes bounced, its address passed as it is.
template <typename Call>
ssize_t send_message(const struct msghdr* message, uintptr_t pc, Call call) {
  struct msghdr bounced = *message;
  std::vector<uint8_t> control;
  if (traced_buffer(message->msg_control, message->msg_controllen)) {
    control.resize(message->msg_controllen);
    if (!copy_from_program(reinterpret_cast<uintptr_t>(message->msg_control), control.size(),
                           control.data(), pc)) {
      return -1;
    }
    bounced.msg_control = control.data();
  }
  return drain_vector(message->msg_iov, static_cast<int>(message->msg_iovlen), pc,
                      [&](const struct iovec* whole) {
                        bounced.msg_iov = const_cast<struct iovec*>(whole);
                        bounced.msg_iovlen = 1;
                        return call(&bounced);
                      });
}

// recvmsg(): the data and control bytes received into bounce buffers, then copied to the
// program's; the lengths and flags the kernel sets are given back in the program's message.
template <typename Call>
ssize_t receive_message(struct msghdr* message, uintptr_t pc, Call call) {
  struct msghdr bounced = *message;
  std::vector<uint8_t> control;
  bool control_traced = traced_buffer(message->msg_control, message->msg_controllen);
  if (control_traced) {
    control.resize(message->msg_controllen);
    bounced.msg_control = control.data();
  }
  ssize_t result = fill_vector(message->msg_iov, static_cast<int>(message->msg_iovlen), pc,
                               [&](const struct iovec* whole) {
                                 bounced.msg_iov = const_cast<struct iovec*>(whole);
                                 bounced.msg_iovlen = 1;
                                 return call(&bounced);
                               });
  if (result < 0) return result;
  if (control_traced && bounced.msg_controllen > 0 &&
      !copy_to_program(reinterpret_cast<uintptr_t>(message->msg_control),
                       std::min(bounced.msg_controllen, message->msg_controllen), control.data(),
                       pc)) {
    return -1;
  }
  message->msg_namelen = bounced.msg_namelen;
  message->msg_controllen = bounced.msg_controllen;
  message->msg_flags = bounced.msg_flags;
  return result;
}

// Up to kMaxIoctlLogged bytes of an ioctl argument, read without faulting; empty when the
// argument is not readable memory.
std::vector<uint8_t> argument_bytes(uintptr_t argument, size_t size) {
  std::vector<uint8_t> bytes(std::min<size_t>(size, trace::kMaxIoctlLogged));
  uintptr_t reach = 0;  // where argument + i is read: itself, or its alias
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 0 || (argument + i) % kPageSize == 0) {
      reach = reachable_address(argument + i);
      if (reach == 0) return {};
    } else {
      ++reach;
    }
    if (arch::guarded_load(reach, &bytes[i], 1) != arch::kGuardedOk) return {};
  }
  return bytes;
}

// What an ioctl's argument points to: its size, and whether the kernel reads it, writes it or
// both. Requests made with _IOR/_IOW/_IOWR say so themselves; the old terminal and file
// requests that do not are listed; others are taken as numbers.
struct IoctlArgument {
  size_t size = 0;
  bool kernel_reads = false;
  bool kernel_writes = false;
};

// The kernel's struct termios (asm/termbits.h: four flag words, the line discipline and 19
// control characters), which TCGETS and TCSETS* take; glibc's own is larger.
constexpr size_t kKernelTermiosSize = 4 * 4 + 1 + 19;

IoctlArgument ioctl_argument(unsigned long request) {
  unsigned direction = _IOC_DIR(request);
  if (direction != _IOC_NONE && _IOC_SIZE(request) > 0) {
    return {_IOC_SIZE(request), (direction & _IOC_WRITE) != 0, (direction & _IOC_READ) != 0};
  }
  switch (request) {
    case FIONREAD:  // also TIOCINQ
    case TIOCOUTQ:
    case TIOCGPGRP:
    case TIOCGSID:
    case TIOCMGET:
    case TIOCGETD:
      return {sizeof(int), false, true};
    case FIONBIO:
    case FIOASYNC:
    case TIOCSPGRP:
    case TIOCMSET:
    case TIOCMBIS:
    case TIOCMBIC:
    case TIOCSETD:
      return {sizeof(int), true, false};
    case TIOCGWINSZ:
      return {sizeof(struct winsize), false, true};
    case TIOCSWINSZ:
      return {sizeof(struct winsize), true, false};
    case TCGETS:
      return {kKernelTermiosSize, false, true};
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
      return {kKernelTermiosSize, true, false};
    default:
      return {};
  }
}

using ReadFunction = ssize_t (*)(int, void*, size_t);
using WriteFunction = ssize_t (*)(int, const void*, size_t);
using PreadFunction = ssize_t (*)(int, void*, size_t, off_t);
using PwriteFunction = ssize_t (*)(int, const void*, size_t, off_t);
using VectorFunction = ssize_t (*)(int, const struct iovec*, int);
using VectorAtFunction = ssize_t (*)(int, const struct iovec*, int, off_t);
using RecvFunction = ssize_t (*)(int, void*, size_t, int);
using SendFunction = ssize_t (*)(int, const void*, size_t, int);
using RecvfromFunction = ssize_t (*)(int, void*, size_t, int, struct sockaddr*, socklen_t*);
using SendtoFunction = ssize_t (*)(int, const void*, size_t, int, const struct sockaddr*,
                                   socklen_t);
using SendmsgFunction = ssize_t (*)(int, const struct msghdr*, int);
using RecvmsgFunction = ssize_t (*)(int, struct msghdr*, int);
using GetrandomFunction = ssize_t (*)(void*, size_t, unsigned int);
using RandomBufferFunction = void (*)(void*, size_t);
using IoctlFunction = int (*)(int, unsigned long, ...);
using SyscallFunction = long (*)(long, ...);

std::atomic<ReadFunction> g_read;
std::atomic<WriteFunction> g_write;
std::atomic<PreadFunction> g_pread;
std::atomic<PwriteFunction> g_pwrite;
std::atomic<VectorFunction> g_readv, g_writev;
std::atomic<VectorAtFunction> g_preadv, g_pwritev;
std::atomic<RecvFunction> g_recv;
std::atomic<SendFunction> g_send;
std::atomic<RecvfromFunction> g_recvfrom;
std::atomic<SendtoFunction> g_sendto;
std::atomic<SendmsgFunction> g_sendmsg;
std::atomic<RecvmsgFunction> g_recvmsg;
std::atomic<GetrandomFunction> g_getrandom;
std::atomic<RandomBufferFunction> g_arc4random_buf;
std::atomic<IoctlFunction> g_ioctl;
std::atomic<SyscallFunction> g_syscall;

// ioctl() with its argument buffer bounced when it lies in traced memory, and logged when `fd`
// is a traced file.
int traced_ioctl(int fd, unsigned long request, uintptr_t argument, uintptr_t pc) {
  IoctlFunction call = libc_function(g_ioctl, "ioctl");
  Shim* shim = active_shim();
  if (shim == nullptr) return call(fd, request, argument);
  if (shim->vfio->owns(fd)) return shim->vfio->ioctl(*shim, fd, request, argument, pc);
  IoctlArgument kind = ioctl_argument(request);
  size_t size = kind.size;
  bool has_buffer = size > 0 && argument != 0;
  std::optional<std::string> traced_file;
  {
    ShimScope scope;
    if (scope) traced_file = shim->filter.match(fd);
  }
  std::vector<uint8_t> before;
  if (traced_file && has_buffer) before = argument_bytes(argument, size);
  int result;
  int saved_errno;
  if (has_buffer && traced_buffer(reinterpret_cast<void*>(argument), size)) {
    // The program's bytes are read only when the kernel would read them: a device register
    // may change when read.
    std::vector<uint8_t> bounce(size);
    if (kind.kernel_reads && !copy_from_program(argument, size, bounce.data(), pc)) return -1;
    result = call(fd, request, bounce.data());
    saved_errno = errno;
    if (result >= 0 && kind.kernel_writes && !copy_to_program(argument, size, bounce.data(), pc)) {
      return -1;
    }
  } else {
    result = call(fd, request, argument);
    saved_errno = errno;
  }
  if (traced_file) {
    std::vector<uint8_t> after;
    if (has_buffer) after = argument_bytes(argument, size);
    trace::Event event;
    event.fd = fd;
    event.request = request;
    event.virt = argument;
    event.pc = pc;
    event.argument_size = static_cast<uint32_t>(size);
    event.result = result < 0 ? -saved_errno : result;
    size_t logged = std::min(before.size(), after.size());
    if (!has_buffer) logged = 0;
    event.logged_size = static_cast<uint32_t>(logged);
    event.before = logged ? before.data() : nullptr;
    event.after = logged ? after.data() : nullptr;
    shim->recorder.record_ioctl(event);
  }
  errno = saved_errno;
  return result;
}

// The virtual PCI function whose config file `fd` is, or null.
PciFunctionFiles* pci_config(int fd) {
  Shim* shim = active_shim();
  if (shim == nullptr || shim->pci->empty()) return nullptr;
  return shim->pci->config_of(fd);
}

// Whether `fd` is a device descriptor of the emulated VFIO (or one of its other descriptors,
// which refuse reads and writes).
bool vfio_descriptor(int fd) {
  Shim* shim = active_shim();
  return shim != nullptr && !shim->vfio->empty() && shim->vfio->owns(fd);
}

// read() or write() of a config file, at and then past the descriptor's offset.
template <typename Access>
ssize_t at_file_offset(int fd, Access access) {
  off_t offset = lseek(fd, 0, SEEK_CUR);
  if (offset < 0) return -1;
  ssize_t done = access(offset);
  if (done > 0) lseek(fd, offset + done, SEEK_SET);
  return done;
}

// readv()/writev() and their p- forms on a VFIO descriptor, as the kernel runs them for a file
// without read_iter: one transfer per element, at `offset` and on, stopping at a short one.
ssize_t vfio_vector(int fd, const struct iovec* vector, int count, off_t offset, bool write,
                    uintptr_t pc) {
  if (count < 0 || count > IOV_MAX) {
    errno = EINVAL;
    return -1;
  }
  ssize_t total = 0;
  for (int i = 0; i < count; ++i) {
    if (vector[i].iov_len == 0) continue;
    ssize_t done = active_shim()->vfio->transfer(*active_shim(), fd, vector[i].iov_base,
                                                 vector[i].iov_len, offset + total, write, pc);
    if (done < 0) return total > 0 ? total : -1;
    total += done;
    if (static_cast<size_t>(done) < vector[i].iov_len) break;
  }
  return total;
}

}  // namespace

extern "C" {

MMIOTRACE_EXPORT ssize_t read(int fd, void* buffer, size_t size) {
  ReadFunction call = libc_function(g_read, "read");
  if (vfio_descriptor(fd)) {
    uintptr_t pc = caller_pc(__builtin_return_address(0));
    return at_file_offset(fd, [&](off_t offset) {
      return active_shim()->vfio->transfer(*active_shim(), fd, buffer, size, offset, false, pc);
    });
  }
  if (PciFunctionFiles* function = pci_config(fd)) {
    return at_file_offset(fd, [&](off_t offset) {
      return active_shim()->pci->read_config(*function, fd, buffer, size, offset,
                                             active_shim()->recorder);
    });
  }
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size);
  return fill_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                     [&](void* bounce) { return call(fd, bounce, size); });
}

MMIOTRACE_EXPORT ssize_t write(int fd, const void* buffer, size_t size) {
  WriteFunction call = libc_function(g_write, "write");
  if (vfio_descriptor(fd)) {
    uintptr_t pc = caller_pc(__builtin_return_address(0));
    return at_file_offset(fd, [&](off_t offset) {
      return active_shim()->vfio->transfer(*active_shim(), fd, const_cast<void*>(buffer), size,
                                           offset, true, pc);
    });
  }
  if (PciFunctionFiles* function = pci_config(fd)) {
    return at_file_offset(fd, [&](off_t offset) {
      return active_shim()->pci->write_config(*function, fd, buffer, size, offset,
                                              active_shim()->recorder);
    });
  }
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size);
  return drain_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                      [&](const void* bounce) { return call(fd, bounce, size); });
}

MMIOTRACE_EXPORT ssize_t pread(int fd, void* buffer, size_t size, off_t offset) {
  PreadFunction call = libc_function(g_pread, "pread");
  if (vfio_descriptor(fd)) {
    return active_shim()->vfio->transfer(*active_shim(), fd, buffer, size, offset, false,
                                         caller_pc(__builtin_return_address(0)));
  }
  if (PciFunctionFiles* function = pci_config(fd)) {
    return active_shim()->pci->read_config(*function, fd, buffer, size, offset,
                                           active_shim()->recorder);
  }
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size, offset);
  return fill_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                     [&](void* bounce) { return call(fd, bounce, size, offset); });
}

MMIOTRACE_EXPORT ssize_t pread64(int fd, void* buffer, size_t size, off_t offset) {
  return pread(fd, buffer, size, offset);
}

MMIOTRACE_EXPORT ssize_t pwrite(int fd, const void* buffer, size_t size, off_t offset) {
  PwriteFunction call = libc_function(g_pwrite, "pwrite");
  if (vfio_descriptor(fd)) {
    return active_shim()->vfio->transfer(*active_shim(), fd, const_cast<void*>(buffer), size,
                                         offset, true, caller_pc(__builtin_return_address(0)));
  }
  if (PciFunctionFiles* function = pci_config(fd)) {
    return active_shim()->pci->write_config(*function, fd, buffer, size, offset,
                                            active_shim()->recorder);
  }
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size, offset);
  return drain_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                      [&](const void* bounce) { return call(fd, bounce, size, offset); });
}

MMIOTRACE_EXPORT ssize_t pwrite64(int fd, const void* buffer, size_t size, off_t offset) {
  return pwrite(fd, buffer, size, offset);
}

MMIOTRACE_EXPORT ssize_t readv(int fd, const struct iovec* vector, int count) {
  VectorFunction call = libc_function(g_readv, "readv");
  if (vfio_descriptor(fd)) {
    uintptr_t pc = caller_pc(__builtin_return_address(0));
    return at_file_offset(
        fd, [&](off_t offset) { return vfio_vector(fd, vector, count, offset, false, pc); });
  }
  if (!traced_vector(vector, count)) return call(fd, vector, count);
  return fill_vector(vector, count, caller_pc(__builtin_return_address(0)),
                     [&](const struct iovec* whole) { return call(fd, whole, 1); });
}

MMIOTRACE_EXPORT ssize_t writev(int fd, const struct iovec* vector, int count) {
  VectorFunction call = libc_function(g_writev, "writev");
  if (vfio_descriptor(fd)) {
    uintptr_t pc = caller_pc(__builtin_return_address(0));
    return at_file_offset(
        fd, [&](off_t offset) { return vfio_vector(fd, vector, count, offset, true, pc); });
  }
  if (!traced_vector(vector, count)) return call(fd, vector, count);
  return drain_vector(vector, count, caller_pc(__builtin_return_address(0)),
                      [&](const struct iovec* whole) { return call(fd, whole, 1); });
}

MMIOTRACE_EXPORT ssize_t preadv(int fd, const struct iovec* vector, int count, off_t offset) {
  VectorAtFunction call = libc_function(g_preadv, "preadv");
  if (vfio_descriptor(fd)) {
    return vfio_vector(fd, vector, count, offset, false, caller_pc(__builtin_return_address(0)));
  }
  if (!traced_vector(vector, count)) return call(fd, vector, count, offset);
  return fill_vector(vector, count, caller_pc(__builtin_return_address(0)),
                     [&](const struct iovec* whole) { return call(fd, whole, 1, offset); });
}

MMIOTRACE_EXPORT ssize_t preadv64(int fd, const struct iovec* vector, int count, off_t offset) {
  return preadv(fd, vector, count, offset);
}

MMIOTRACE_EXPORT ssize_t pwritev(int fd, const struct iovec* vector, int count, off_t offset) {
  VectorAtFunction call = libc_function(g_pwritev, "pwritev");
  if (vfio_descriptor(fd)) {
    return vfio_vector(fd, vector, count, offset, true, caller_pc(__builtin_return_address(0)));
  }
  if (!traced_vector(vector, count)) return call(fd, vector, count, offset);
  return drain_vector(vector, count, caller_pc(__builtin_return_address(0)),
                      [&](const struct iovec* whole) { return call(fd, whole, 1, offset); });
}

MMIOTRACE_EXPORT ssize_t pwritev64(int fd, const struct iovec* vector, int count, off_t offset) {
  return pwritev(fd, vector, count, offset);
}

MMIOTRACE_EXPORT ssize_t recv(int fd, void* buffer, size_t size, int flags) {
  RecvFunction call = libc_function(g_recv, "recv");
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size, flags);
  return fill_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                     [&](void* bounce) { return call(fd, bounce, size, flags); });
}

MMIOTRACE_EXPORT ssize_t send(int fd, const void* buffer, size_t size, int flags) {
  SendFunction call = libc_function(g_send, "send");
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size, flags);
  return drain_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                      [&](const void* bounce) { return call(fd, bounce, size, flags); });
}

MMIOTRACE_EXPORT ssize_t recvfrom(int fd, void* buffer, size_t size, int flags,
                                  struct sockaddr* from, socklen_t* from_length) {
  RecvfromFunction call = libc_function(g_recvfrom, "recvfrom");
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size, flags, from, from_length);
  return fill_buffer(buffer, size, caller_pc(__builtin_return_address(0)), [&](void* bounce) {
    return call(fd, bounce, size, flags, from, from_length);
  });
}

MMIOTRACE_EXPORT ssize_t sendto(int fd, const void* buffer, size_t size, int flags,
                                const struct sockaddr* to, socklen_t to_length) {
  SendtoFunction call = libc_function(g_sendto, "sendto");
  if (!traced_buffer(buffer, size)) return call(fd, buffer, size, flags, to, to_length);
  return drain_buffer(
      buffer, size, caller_pc(__builtin_return_address(0)),
      [&](const void* bounce) { return call(fd, bounce, size, flags, to, to_length); });
}

MMIOTRACE_EXPORT ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  SendmsgFunction call = libc_function(g_sendmsg, "sendmsg");
  if (!traced_message(message)) return call(fd, message, flags);
  return send_message(message, caller_pc(__builtin_return_address(0)),
                      [&](const struct msghdr* bounced) { return call(fd, bounced, flags); });
}

MMIOTRACE_EXPORT ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
  RecvmsgFunction call = libc_function(g_recvmsg, "recvmsg");
  if (!traced_message(message)) return call(fd, message, flags);
  return receive_message(message, caller_pc(__builtin_return_address(0)),
                         [&](struct msghdr* bounced) { return call(fd, bounced, flags); });
}

MMIOTRACE_EXPORT ssize_t getrandom(void* buffer, size_t size, unsigned int flags) {
  GetrandomFunction call = libc_function(g_getrandom, "getrandom");
  if (!traced_buffer(buffer, size)) return call(buffer, size, flags);
  return fill_buffer(buffer, size, caller_pc(__builtin_return_address(0)),
                     [&](void* bounce) { return call(bounce, size, flags); });
}

// glibc fills the buffer with getrandom() inside itself, and ends the program when that fails.
MMIOTRACE_EXPORT void arc4random_buf(void* buffer, size_t size) {
  RandomBufferFunction call = libc_function(g_arc4random_buf, "arc4random_buf");
  if (!traced_buffer(buffer, size)) return call(buffer, size);
  std::vector<uint8_t> bounce(size);
  call(bounce.data(), size);
  if (!copy_to_program(reinterpret_cast<uintptr_t>(buffer), size, bounce.data(),
                       caller_pc(__builtin_return_address(0)))) {
    abort();  // as glibc does when it cannot fill the buffer
  }
}

// glibc declares the request `unsigned long`; the argument is a pointer or a number.
MMIOTRACE_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list arguments;
  va_start(arguments, request);
  uintptr_t argument = va_arg(arguments, uintptr_t);
  va_end(arguments);
  return traced_ioctl(fd, request, argument, caller_pc(__builtin_return_address(0)));
}

// syscall(): getrandom(), sendmsg() and recvmsg() bounce their traced buffers as their wrappers
// do; futex() on a traced word waits and wakes on the alias (the same memory, so the same futex
// for shared mappings), as the system-call trap does for libc's own futex calls
// (kmmio/syscall_trap.hpp); other calls pass through.
MMIOTRACE_EXPORT long syscall(long number, ...) {
  va_list arguments;
  va_start(arguments, number);
  long a[6];
  for (long& argument : a)
    argument = va_arg(arguments, long);
  va_end(arguments);
  SyscallFunction call = libc_function(g_syscall, "syscall");
  uintptr_t pc = caller_pc(__builtin_return_address(0));
  if (number == SYS_getrandom &&
      traced_buffer(reinterpret_cast<void*>(a[0]), static_cast<size_t>(a[1]))) {
    return fill_buffer(reinterpret_cast<void*>(a[0]), static_cast<size_t>(a[1]), pc,
                       [&](void* bounce) { return call(number, bounce, a[1], a[2]); });
  }
  if (number == SYS_sendmsg && traced_message(reinterpret_cast<const struct msghdr*>(a[1]))) {
    return send_message(
        reinterpret_cast<const struct msghdr*>(a[1]), pc,
        [&](const struct msghdr* bounced) { return call(number, a[0], bounced, a[2]); });
  }
  if (number == SYS_recvmsg && traced_message(reinterpret_cast<struct msghdr*>(a[1]))) {
    return receive_message(reinterpret_cast<struct msghdr*>(a[1]), pc, [&](struct msghdr* bounced) {
      return call(number, a[0], bounced, a[2]);
    });
  }
  if (number == SYS_futex && active_shim() != nullptr) {
    auto word = static_cast<uintptr_t>(a[0]);
    if (traced_buffer(reinterpret_cast<void*>(word), 4)) {
      uintptr_t reach = reachable_address(word);
      if (reach == 0) {
        errno = EFAULT;
        return -1;
      }
      a[0] = static_cast<long>(reach);
    }
    int operation = static_cast<int>(a[1]) & FUTEX_CMD_MASK;
    bool has_second_word = operation == FUTEX_REQUEUE || operation == FUTEX_CMP_REQUEUE ||
                           operation == FUTEX_WAKE_OP || operation == FUTEX_CMP_REQUEUE_PI;
    auto second = static_cast<uintptr_t>(a[4]);
    if (has_second_word && traced_buffer(reinterpret_cast<void*>(second), 4)) {
      uintptr_t reach = reachable_address(second);
      if (reach == 0) {
        errno = EFAULT;
        return -1;
      }
      a[4] = static_cast<long>(reach);
    }
  }
  return call(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

}  // extern "C"
