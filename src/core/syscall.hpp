// mmiotrace: signal-safe
// Raw Linux system calls for code that runs inside signal handlers: no libc, no errno.
// Every function returns the kernel's result: a value >= 0, or -errno.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <csignal>
#include <cstddef>
#include <cstdint>

namespace mmiotrace::sys {

// The system call instruction of the architecture, with its calling convention.
inline long syscall6(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                     long a6 = 0) {
#if defined(__x86_64__)
  long result;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
#elif defined(__aarch64__)
  register long x8 asm("x8") = number;
  register long x0 asm("x0") = a1;
  register long x1 asm("x1") = a2;
  register long x2 asm("x2") = a3;
  register long x3 asm("x3") = a4;
  register long x4 asm("x4") = a5;
  register long x5 asm("x5") = a6;
  asm volatile("svc #0"
               : "+r"(x0)
               : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
               : "memory");
  return x0;
#else
#error "sys::syscall6 has no system call sequence for this architecture"
#endif
}

inline long as_long(const void* pointer) {
  return reinterpret_cast<long>(pointer);
}

inline long write(int fd, const void* data, size_t size) {
  return syscall6(SYS_write, fd, as_long(data), static_cast<long>(size));
}
inline long mprotect(uintptr_t address, size_t length, int prot) {
  return syscall6(SYS_mprotect, static_cast<long>(address), static_cast<long>(length), prot);
}
inline long mmap(uintptr_t address, size_t length, int prot, int flags, int fd, off_t offset) {
  return syscall6(SYS_mmap, static_cast<long>(address), static_cast<long>(length), prot, flags, fd,
                  offset);
}
inline long munmap(uintptr_t address, size_t length) {
  return syscall6(SYS_munmap, static_cast<long>(address), static_cast<long>(length));
}
inline int getpid() {
  return static_cast<int>(syscall6(SYS_getpid));
}
inline int gettid() {
  return static_cast<int>(syscall6(SYS_gettid));
}
inline long tgkill(int tgid, int tid, int signal) {
  return syscall6(SYS_tgkill, tgid, tid, signal);
}
inline long sched_yield() {
  return syscall6(SYS_sched_yield);
}
constexpr struct timespec timespec_of_ns(uint64_t nanoseconds) {
  return {static_cast<time_t>(nanoseconds / 1'000'000'000),
          static_cast<long>(nanoseconds % 1'000'000'000)};
}
inline long nanosleep_ns(long nanoseconds) {
  struct timespec duration = timespec_of_ns(static_cast<uint64_t>(nanoseconds));
  return syscall6(SYS_nanosleep, as_long(&duration), 0);
}
// The kernel's sigset is 8 bytes; glibc's sigset_t is larger but starts with the same bits.
inline long rt_sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  return syscall6(SYS_rt_sigprocmask, how, as_long(set), as_long(old), 8);
}
inline long process_vm_readv_self(void* destination, uintptr_t source, size_t size) {
  struct iovec local = {destination, size};
  struct iovec remote = {reinterpret_cast<void*>(source), size};
  return syscall6(SYS_process_vm_readv, getpid(), as_long(&local), 1, as_long(&remote), 1, 0);
}
inline long open_read_only(const char* path) {
  return syscall6(SYS_openat, -100 /* AT_FDCWD */, as_long(path),
                  0 /* O_RDONLY */ | 02000000 /* O_CLOEXEC */);
}
inline long read(int fd, void* out, size_t size) {
  return syscall6(SYS_read, fd, as_long(out), static_cast<long>(size));
}
inline long close(int fd) {
  return syscall6(SYS_close, fd);
}
inline long membarrier(int command, unsigned flags = 0) {
  return syscall6(SYS_membarrier, command, flags, 0);
}
#if defined(__x86_64__)
inline long arch_prctl_get(int code, uint64_t* value) {
  return syscall6(SYS_arch_prctl, code, as_long(value));
}
#endif

// Bits of a glibc sigset_t, without libc (sigaddset() and sigdelset() are not async-signal-safe).
inline void sigset_add(sigset_t& set, int signo) {
  set.__val[(signo - 1) / 64] |= 1ul << ((signo - 1) % 64);
}
inline void sigset_remove(sigset_t& set, int signo) {
  set.__val[(signo - 1) / 64] &= ~(1ul << ((signo - 1) % 64));
}

// Writes all of `data`, retrying on EINTR and short writes. Returns 0 or -errno.
inline long write_all(int fd, const void* data, size_t size) {
  const char* cursor = static_cast<const char*>(data);
  while (size > 0) {
    long written = write(fd, cursor, size);
    if (written == -4 /* EINTR */) continue;
    if (written < 0) return written;
    cursor += written;
    size -= static_cast<size_t>(written);
  }
  return 0;
}

}  // namespace mmiotrace::sys
