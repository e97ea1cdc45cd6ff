// Interposers for the libc functions that map, unmap, remap, protect and lock memory: they keep
// the shim's table of traced mappings in step with the program's address space (shim.hpp), and
// make the calls behave on traced (armed) pages as they do untraced. Normal context, in the
// traced program. (No header: these define libc's own functions.)
#include <sys/mman.h>

#include <cerrno>
#include <cstdarg>
#include <vector>

#include "core/address_range.hpp"
#include "core/syscall.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.h"
#include "preload/shim.hpp"

using namespace mmiotrace;
using namespace mmiotrace::preload;

namespace {

uintptr_t caller_pc(void* return_address) {
  return reinterpret_cast<uintptr_t>(return_address);
}

void* mapped(long result) {
  if (result < 0 && result > -4096) {
    errno = static_cast<int>(-result);
    return MAP_FAILED;
  }
  return reinterpret_cast<void*>(result);
}

int status(long result) {
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return 0;
}

void* do_mmap(void* address, size_t length, int prot, int flags, int fd, off_t offset,
              uintptr_t pc) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (Shim* shim = active_shim();
      shim != nullptr && !shim->devices.empty() && fd >= 0 && !(flags & MAP_ANONYMOUS)) {
    if (shim->vfio->owns(fd)) {
      return shim->vfio->map(fd, begin, length, prot, flags, offset, pc);
    }
    if (!shim->pci->empty()) {
      // A virtual PCI BAR, through its resourceN file or the host's /dev/mem.
      if (const DeviceFile* bar = shim->pci->resource_of(fd)) {
        return map_device(*bar, begin, length, prot, flags, offset, pc);
      }
      if (shim->pci->is_host_physical_memory(fd)) {
        const DeviceFile* bar = shim->devices.pci_bar_at(static_cast<uint64_t>(offset), length);
        if (bar != nullptr) {
          return map_device(*bar, begin, length, prot, flags,
                            static_cast<off_t>(static_cast<uint64_t>(offset) - bar->phys_base), pc);
        }
      }
    }
    if (const DeviceFile* device = shim->devices.find_descriptor(fd)) {
      if (device->vfio_node) {
        errno = ENODEV;  // a VFIO container or group cannot be mapped
        return MAP_FAILED;
      }
      if (device->physical_memory) {
        // /dev/mem where the host has none: only the virtual BARs are there.
        const DeviceFile* bar = shim->devices.pci_bar_at(static_cast<uint64_t>(offset), length);
        if (bar == nullptr || offset < 0) {
          errno = ENXIO;
          return MAP_FAILED;
        }
        return map_device(*bar, begin, length, prot, flags,
                          static_cast<off_t>(static_cast<uint64_t>(offset) - bar->phys_base), pc);
      }
      if (device->pci_bar && offset != 0) {
        errno = EINVAL;  // /dev/uioN: map 0 (offset 0) is the function's one map
        return MAP_FAILED;
      }
      return map_device(*device, begin, length, prot, flags, offset, pc);
    }
  }
  if (active_shim() != nullptr && (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE) &&
      length > 0) {
    forget_range(AddressRange::from_size(begin, page_ceil(length)), pc);
  }
  void* result = mapped(sys::mmap(begin, length, prot, flags, fd, offset));
  if (result != MAP_FAILED && active_shim() != nullptr && fd >= 0 && !(flags & MAP_ANONYMOUS)) {
    trace_new_mapping(reinterpret_cast<uintptr_t>(result), length, prot, flags, fd, offset, pc);
  }
  return result;
}

// Whether `range` holds any traced page, so that the call needs the shim's care.
bool touches_traced(uintptr_t address, size_t length) {
  return active_shim() != nullptr && length > 0 &&
         kmmio::touches_armed_page(AddressRange::from_size(address, length).pages());
}

// mlock() or munlock() of `pages`: armed pages cannot be populated (they are PROT_NONE), so
// their aliases, which hold the same memory, are locked in their place.
int lock_pages(AddressRange pages, bool lock, int mlock2_flags) {
  auto call = [&](AddressRange range) {
    if (!lock)
      return sys::syscall6(SYS_munlock, static_cast<long>(range.begin),
                           static_cast<long>(range.size()));
    // mlock() itself when there are no flags: qemu-user (7.2) has no mlock2().
    if (mlock2_flags == 0) {
      return sys::syscall6(SYS_mlock, static_cast<long>(range.begin),
                           static_cast<long>(range.size()));
    }
    return sys::syscall6(SYS_mlock2, static_cast<long>(range.begin),
                         static_cast<long>(range.size()), mlock2_flags);
  };
  std::vector<kmmio::PageAlias> armed = kmmio::armed_pages(pages);
  long result = 0;
  uintptr_t cursor = pages.begin;
  auto finish_unarmed = [&](uintptr_t until) {
    if (until > cursor && result == 0) result = call({cursor, until});
  };
  for (const kmmio::PageAlias& page : armed) {
    finish_unarmed(page.page);
    cursor = page.page + kPageSize;
    AddressRange target = page.alias != 0 && page.alias != MMIOTRACE_NO_ALIAS
                              ? AddressRange::from_size(page.alias, kPageSize)
                              : AddressRange::from_size(page.page, kPageSize);
    if (!lock) call({page.page, page.page + kPageSize});  // clears the program's VM_LOCKED too
    if (result == 0) result = call(target);
  }
  finish_unarmed(pages.end);
  return status(result);
}

}  // namespace

extern "C" {

MMIOTRACE_EXPORT void* mmap(void* address, size_t length, int prot, int flags, int fd,
                            off_t offset) {
  return do_mmap(address, length, prot, flags, fd, offset, caller_pc(__builtin_return_address(0)));
}

MMIOTRACE_EXPORT void* mmap64(void* address, size_t length, int prot, int flags, int fd,
                              off_t offset) {
  return do_mmap(address, length, prot, flags, fd, offset, caller_pc(__builtin_return_address(0)));
}

MMIOTRACE_EXPORT int munmap(void* address, size_t length) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (active_shim() != nullptr && length > 0 && begin % kPageSize == 0) {
    forget_range(AddressRange::from_size(begin, page_ceil(length)),
                 caller_pc(__builtin_return_address(0)));
  }
  return status(sys::munmap(begin, length));
}

MMIOTRACE_EXPORT void* mremap(void* old_address, size_t old_size, size_t new_size, int flags, ...) {
  uintptr_t new_address = 0;
  if (flags & MREMAP_FIXED) {
    va_list arguments;
    va_start(arguments, flags);
    new_address = reinterpret_cast<uintptr_t>(va_arg(arguments, void*));
    va_end(arguments);
  }
  auto old_begin = reinterpret_cast<uintptr_t>(old_address);
  uintptr_t pc = caller_pc(__builtin_return_address(0));
  bool traced_source = touches_traced(old_begin, old_size == 0 ? 1 : old_size);
  bool traced_target = (flags & MREMAP_FIXED) && touches_traced(new_address, new_size);
  if (old_begin % kPageSize == 0 && (traced_source || traced_target)) {
    return remap_traced(old_begin, old_size, new_size, flags, new_address, pc);
  }
  return mapped(sys::syscall6(SYS_mremap, static_cast<long>(old_begin), static_cast<long>(old_size),
                              static_cast<long>(new_size), flags, static_cast<long>(new_address)));
}

MMIOTRACE_EXPORT int mprotect(void* address, size_t length, int prot) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (begin % kPageSize != 0 || !touches_traced(begin, length)) {
    return status(sys::mprotect(begin, length, prot));
  }
  return protect_traced(AddressRange::from_size(begin, page_ceil(length)), prot);
}

MMIOTRACE_EXPORT int mlock(const void* address, size_t length) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (!touches_traced(begin, length)) {
    return status(sys::syscall6(SYS_mlock, static_cast<long>(begin), static_cast<long>(length)));
  }
  return lock_pages(AddressRange::from_size(begin, length).pages(), true, 0);
}

MMIOTRACE_EXPORT int mlock2(const void* address, size_t length, unsigned int flags) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (!touches_traced(begin, length)) {
    return status(sys::syscall6(SYS_mlock2, static_cast<long>(begin), static_cast<long>(length),
                                static_cast<long>(flags)));
  }
  return lock_pages(AddressRange::from_size(begin, length).pages(), true, static_cast<int>(flags));
}

MMIOTRACE_EXPORT int munlock(const void* address, size_t length) {
  auto begin = reinterpret_cast<uintptr_t>(address);
  if (!touches_traced(begin, length)) {
    return status(sys::syscall6(SYS_munlock, static_cast<long>(begin), static_cast<long>(length)));
  }
  return lock_pages(AddressRange::from_size(begin, length).pages(), false, 0);
}

}  // extern "C"
