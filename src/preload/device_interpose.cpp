// Interposers that make the virtual devices' paths exist for the traced program: open() and
// fopen() give a descriptor of the device, stat() and access() describe a character device.
// Every other path goes to libc untouched (one comparison per call when devices are attached,
// none otherwise). Normal context, in the traced program. (No header: these define libc's own
// functions.)
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "mmiotrace/mmiotrace.h"
#include "preload/device_files.hpp"
#include "preload/libc_function.hpp"
#include "preload/shim.hpp"

using namespace mmiotrace;
using namespace mmiotrace::preload;

namespace {

// The virtual device at `path` (relative to `directory_fd`), or null.
const DeviceFile* device_at(int directory_fd, const char* path) {
  Shim* shim = active_shim();
  if (shim == nullptr || shim->devices.empty() || path == nullptr) return nullptr;
  return shim->devices.find_path(directory_fd, path);
}

const DeviceFile* device_of(int fd) {
  Shim* shim = active_shim();
  if (shim == nullptr || shim->devices.empty()) return nullptr;
  return shim->devices.find_descriptor(fd);
}

// fstatat()'s file: `path` from `directory_fd`, or the descriptor itself with AT_EMPTY_PATH.
const DeviceFile* device_at_or_of(int directory_fd, const char* path, int flags) {
  if ((flags & AT_EMPTY_PATH) && path != nullptr && *path == '\0') return device_of(directory_fd);
  return device_at(directory_fd, path);
}

// After libc opened `fd`: a virtual PCI function's config or resourceN file is noted.
int noted(int fd) {
  if (fd < 0) return fd;
  Shim* shim = active_shim();
  if (shim == nullptr || shim->pci->empty()) return fd;
  int saved = errno;
  shim->pci->note_open(fd);
  errno = saved;
  return fd;
}

int open_device(const DeviceFile& device, int flags) {
  Shim* shim = active_shim();
  int fd = shim->devices.open(device, flags);
  return device.vfio_node ? shim->vfio->note_open(fd, device) : fd;
}

int describe_device(const DeviceFile& device, struct stat* status) {
  active_shim()->devices.describe(device, status);
  return 0;
}

// On x86-64 struct stat64 is struct stat under another name.
static_assert(sizeof(struct stat64) == sizeof(struct stat));
int describe_device(const DeviceFile& device, struct stat64* status) {
  return describe_device(device, reinterpret_cast<struct stat*>(status));
}

// open()'s optional mode argument.
mode_t mode_argument(int flags, va_list arguments) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
             ? static_cast<mode_t>(va_arg(arguments, int))
             : 0;
}

using OpenFunction = int (*)(const char*, int, ...);
using OpenatFunction = int (*)(int, const char*, int, ...);
using FopenFunction = FILE* (*)(const char*, const char*);
using StatFunction = int (*)(const char*, struct stat*);
using Stat64Function = int (*)(const char*, struct stat64*);
using Fstat64Function = int (*)(int, struct stat64*);
using Fstatat64Function = int (*)(int, const char*, struct stat64*, int);
using Xstat64Function = int (*)(int, const char*, struct stat64*);
using Fxstat64Function = int (*)(int, int, struct stat64*);
using Fxstatat64Function = int (*)(int, int, const char*, struct stat64*, int);
using FstatFunction = int (*)(int, struct stat*);
using FstatatFunction = int (*)(int, const char*, struct stat*, int);
using AccessFunction = int (*)(const char*, int);
using GetxattrFunction = ssize_t (*)(const char*, const char*, void*, size_t);
using ListxattrFunction = ssize_t (*)(const char*, char*, size_t);
using StatxFunction = int (*)(int, const char*, int, unsigned int, struct statx*);
using FaccessatFunction = int (*)(int, const char*, int, int);
using XstatFunction = int (*)(int, const char*, struct stat*);
using FxstatFunction = int (*)(int, int, struct stat*);
using FxstatatFunction = int (*)(int, int, const char*, struct stat*, int);

std::atomic<OpenFunction> g_open, g_open64;
std::atomic<OpenatFunction> g_openat, g_openat64;
std::atomic<FopenFunction> g_fopen, g_fopen64;
std::atomic<StatFunction> g_stat, g_lstat;
std::atomic<Stat64Function> g_stat64, g_lstat64;
std::atomic<FstatFunction> g_fstat;
std::atomic<Fstat64Function> g_fstat64;
std::atomic<FstatatFunction> g_fstatat;
std::atomic<Fstatat64Function> g_fstatat64;
std::atomic<AccessFunction> g_access;
std::atomic<StatxFunction> g_statx;
std::atomic<GetxattrFunction> g_getxattr, g_lgetxattr;
std::atomic<ListxattrFunction> g_listxattr, g_llistxattr;
std::atomic<FaccessatFunction> g_faccessat;
std::atomic<XstatFunction> g_xstat, g_lxstat;
std::atomic<Xstat64Function> g_xstat64, g_lxstat64;
std::atomic<FxstatFunction> g_fxstat;
std::atomic<Fxstat64Function> g_fxstat64;
std::atomic<FxstatatFunction> g_fxstatat;
std::atomic<Fxstatat64Function> g_fxstatat64;

FILE* fopen_device(const DeviceFile& device, const char* mode) {
  int flags = O_RDONLY;
  if (strchr(mode, '+')) {
    flags = O_RDWR;
  } else if (mode[0] == 'w' || mode[0] == 'a') {
    flags = O_WRONLY;
  }
  if (strchr(mode, 'e')) flags |= O_CLOEXEC;
  if (strchr(mode, 'x')) flags |= O_CREAT | O_EXCL;
  int fd = open_device(device, flags);
  if (fd < 0) return nullptr;
  FILE* file = fdopen(fd, mode);
  if (file == nullptr) {
    int error = errno;
    close(fd);
    errno = error;
  }
  return file;
}

// statx() of a device: what stat() says, in statx's terms.
int describe_device_statx(const DeviceFile& device, struct statx* out) {
  struct stat status;
  describe_device(device, &status);
  memset(out, 0, sizeof(*out));
  out->stx_mask = STATX_BASIC_STATS;
  out->stx_blksize = static_cast<uint32_t>(status.st_blksize);
  out->stx_nlink = static_cast<uint32_t>(status.st_nlink);
  out->stx_uid = status.st_uid;
  out->stx_gid = status.st_gid;
  out->stx_mode = static_cast<uint16_t>(status.st_mode);
  out->stx_ino = status.st_ino;
  auto time = [](const struct timespec& from) {
    struct statx_timestamp to = {};
    to.tv_sec = from.tv_sec;
    to.tv_nsec = static_cast<uint32_t>(from.tv_nsec);
    return to;
  };
  out->stx_atime = time(status.st_atim);
  out->stx_ctime = time(status.st_ctim);
  out->stx_mtime = time(status.st_mtim);
  out->stx_rdev_major = major(status.st_rdev);
  out->stx_rdev_minor = minor(status.st_rdev);
  out->stx_dev_major = major(status.st_dev);
  out->stx_dev_minor = minor(status.st_dev);
  return 0;
}

int access_device(int mode) {
  // A character device, read-write for its owner and group: the owner is the program's user.
  if (mode & X_OK) {
    errno = EACCES;
    return -1;
  }
  return 0;
}

}  // namespace

extern "C" {

// glibc's _FORTIFY_SOURCE entry points, which its headers do not declare.
int __open_2(const char* path, int flags);
int __open64_2(const char* path, int flags);
int __openat_2(int directory_fd, const char* path, int flags);
int __openat64_2(int directory_fd, const char* path, int flags);
int __xstat(int version, const char* path, struct stat* status);
int __xstat64(int version, const char* path, struct stat64* status);
int __lxstat(int version, const char* path, struct stat* status);
int __lxstat64(int version, const char* path, struct stat64* status);
int __fxstat(int version, int fd, struct stat* status);
int __fxstat64(int version, int fd, struct stat64* status);
int __fxstatat(int version, int directory_fd, const char* path, struct stat* status, int flags);
int __fxstatat64(int version, int directory_fd, const char* path, struct stat64* status, int flags);

MMIOTRACE_EXPORT int open(const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return open_device(*device, flags);
  return noted(libc_function(g_open, "open")(path, flags, mode));
}

MMIOTRACE_EXPORT int open64(const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return open_device(*device, flags);
  return noted(libc_function(g_open64, "open64")(path, flags, mode));
}

MMIOTRACE_EXPORT int openat(int directory_fd, const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (const DeviceFile* device = device_at(directory_fd, path)) return open_device(*device, flags);
  return noted(libc_function(g_openat, "openat")(directory_fd, path, flags, mode));
}

MMIOTRACE_EXPORT int openat64(int directory_fd, const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (const DeviceFile* device = device_at(directory_fd, path)) return open_device(*device, flags);
  return noted(libc_function(g_openat64, "openat64")(directory_fd, path, flags, mode));
}

// The _FORTIFY_SOURCE entry points programs built with -O2 -D_FORTIFY_SOURCE call.
MMIOTRACE_EXPORT int __open_2(const char* path, int flags) {
  return open(path, flags);
}
MMIOTRACE_EXPORT int __open64_2(const char* path, int flags) {
  return open64(path, flags);
}
MMIOTRACE_EXPORT int __openat_2(int directory_fd, const char* path, int flags) {
  return openat(directory_fd, path, flags);
}
MMIOTRACE_EXPORT int __openat64_2(int directory_fd, const char* path, int flags) {
  return openat64(directory_fd, path, flags);
}

MMIOTRACE_EXPORT FILE* fopen(const char* path, const char* mode) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return fopen_device(*device, mode);
  return libc_function(g_fopen, "fopen")(path, mode);
}

MMIOTRACE_EXPORT FILE* fopen64(const char* path, const char* mode) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return fopen_device(*device, mode);
  return libc_function(g_fopen64, "fopen64")(path, mode);
}

MMIOTRACE_EXPORT int stat(const char* path, struct stat* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_stat, "stat")(path, status);
}

MMIOTRACE_EXPORT int stat64(const char* path, struct stat64* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_stat64, "stat64")(path, status);
}

MMIOTRACE_EXPORT int lstat(const char* path, struct stat* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_lstat, "lstat")(path, status);
}

MMIOTRACE_EXPORT int lstat64(const char* path, struct stat64* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_lstat64, "lstat64")(path, status);
}

MMIOTRACE_EXPORT int fstat(int fd, struct stat* status) {
  if (const DeviceFile* device = device_of(fd)) return describe_device(*device, status);
  return libc_function(g_fstat, "fstat")(fd, status);
}

MMIOTRACE_EXPORT int fstat64(int fd, struct stat64* status) {
  if (const DeviceFile* device = device_of(fd)) return describe_device(*device, status);
  return libc_function(g_fstat64, "fstat64")(fd, status);
}

MMIOTRACE_EXPORT int fstatat(int directory_fd, const char* path, struct stat* status, int flags) {
  const DeviceFile* device = device_at_or_of(directory_fd, path, flags);
  if (device != nullptr) return describe_device(*device, status);
  return libc_function(g_fstatat, "fstatat")(directory_fd, path, status, flags);
}

MMIOTRACE_EXPORT int fstatat64(int directory_fd, const char* path, struct stat64* status,
                               int flags) {
  const DeviceFile* device = device_at_or_of(directory_fd, path, flags);
  if (device != nullptr) return describe_device(*device, status);
  return libc_function(g_fstatat64, "fstatat64")(directory_fd, path, status, flags);
}

// The versioned stat functions of programs built against glibc before 2.33.
MMIOTRACE_EXPORT int __xstat(int version, const char* path, struct stat* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_xstat, "__xstat")(version, path, status);
}

MMIOTRACE_EXPORT int __xstat64(int version, const char* path, struct stat64* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_xstat64, "__xstat64")(version, path, status);
}

MMIOTRACE_EXPORT int __lxstat(int version, const char* path, struct stat* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_lxstat, "__lxstat")(version, path, status);
}

MMIOTRACE_EXPORT int __lxstat64(int version, const char* path, struct stat64* status) {
  if (const DeviceFile* device = device_at(AT_FDCWD, path)) return describe_device(*device, status);
  return libc_function(g_lxstat64, "__lxstat64")(version, path, status);
}

MMIOTRACE_EXPORT int __fxstat(int version, int fd, struct stat* status) {
  if (const DeviceFile* device = device_of(fd)) return describe_device(*device, status);
  return libc_function(g_fxstat, "__fxstat")(version, fd, status);
}

MMIOTRACE_EXPORT int __fxstat64(int version, int fd, struct stat64* status) {
  if (const DeviceFile* device = device_of(fd)) return describe_device(*device, status);
  return libc_function(g_fxstat64, "__fxstat64")(version, fd, status);
}

MMIOTRACE_EXPORT int __fxstatat(int version, int directory_fd, const char* path,
                                struct stat* status, int flags) {
  if (const DeviceFile* device = device_at(directory_fd, path)) {
    return describe_device(*device, status);
  }
  return libc_function(g_fxstatat, "__fxstatat")(version, directory_fd, path, status, flags);
}

MMIOTRACE_EXPORT int __fxstatat64(int version, int directory_fd, const char* path,
                                  struct stat64* status, int flags) {
  if (const DeviceFile* device = device_at(directory_fd, path)) {
    return describe_device(*device, status);
  }
  return libc_function(g_fxstatat64, "__fxstatat64")(version, directory_fd, path, status, flags);
}

MMIOTRACE_EXPORT int statx(int directory_fd, const char* path, int flags, unsigned int mask,
                           struct statx* status) {
  if (const DeviceFile* device = device_at_or_of(directory_fd, path, flags)) {
    return describe_device_statx(*device, status);
  }
  return libc_function(g_statx, "statx")(directory_fd, path, flags, mask, status);
}

// A device file has no extended attributes (ls -l asks, for ACLs and security labels).
MMIOTRACE_EXPORT ssize_t getxattr(const char* path, const char* name, void* value, size_t size) {
  if (device_at(AT_FDCWD, path) != nullptr) {
    errno = ENODATA;
    return -1;
  }
  return libc_function(g_getxattr, "getxattr")(path, name, value, size);
}

MMIOTRACE_EXPORT ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) {
  if (device_at(AT_FDCWD, path) != nullptr) {
    errno = ENODATA;
    return -1;
  }
  return libc_function(g_lgetxattr, "lgetxattr")(path, name, value, size);
}

MMIOTRACE_EXPORT ssize_t listxattr(const char* path, char* list, size_t size) {
  if (device_at(AT_FDCWD, path) != nullptr) return 0;
  return libc_function(g_listxattr, "listxattr")(path, list, size);
}

MMIOTRACE_EXPORT ssize_t llistxattr(const char* path, char* list, size_t size) {
  if (device_at(AT_FDCWD, path) != nullptr) return 0;
  return libc_function(g_llistxattr, "llistxattr")(path, list, size);
}

MMIOTRACE_EXPORT int access(const char* path, int mode) {
  if (device_at(AT_FDCWD, path) != nullptr) return access_device(mode);
  return libc_function(g_access, "access")(path, mode);
}

MMIOTRACE_EXPORT int faccessat(int directory_fd, const char* path, int mode, int flags) {
  if (device_at(directory_fd, path) != nullptr) return access_device(mode);
  return libc_function(g_faccessat, "faccessat")(directory_fd, path, mode, flags);
}

}  // extern "C"
