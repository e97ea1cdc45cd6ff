// The shim's state in a traced process, shared by its interposers: the recording session, the
// trace filter, and the traced mappings. Normal context only; the table is guarded by the
// shim's lock.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/address_range.hpp"
#include "preload/device_files.hpp"
#include "preload/module_marks.hpp"
#include "preload/pci_files.hpp"
#include "preload/trace_filter.hpp"
#include "preload/vfio_files.hpp"
#include "recorder/session.hpp"

namespace mmiotrace::preload {

// A mapping the program made of a traced file; its pieces share it when it is partly unmapped.
struct TracedFile {
  AddressRange alias;   // the tracer's second mapping of the same file pages, or empty
  DeviceWindow device;  // a virtual device's (device.file set), whose backend answers instead
  ~TracedFile();
};

struct ShimMapping {
  recorder::TracedMapping* traced = nullptr;
  std::shared_ptr<TracedFile> file;  // the last piece to go unmaps the alias
  // A virtual device's mapping: what answers its accesses, and the offset of traced->range.begin
  // in the device's window (DeviceFiles::make_backend).
  std::shared_ptr<backend::Backend> backend;
  uint64_t device_offset = 0;
};

struct Shim {
  Shim(trace::TraceBuffer buffer, std::vector<std::string> globs, DeviceFiles device_files)
      : session(buffer), filter(std::move(globs)), devices(std::move(device_files)) {}
  recorder::Session session;
  recorder::Recorder& recorder = session.recorder;
  TraceFilter filter;
  DeviceFiles devices;  // read-only once the shim is published
  // Virtual PCI functions (--pci); their BARs are in `devices`. Never null.
  std::unique_ptr<PciFiles> pci = std::make_unique<PciFiles>();
  // The emulated VFIO of those bound to vfio-pci; its nodes are in `devices`. Never null.
  std::unique_ptr<VfioFiles> vfio = std::make_unique<VfioFiles>();
  // The descriptors `mmiotrace record` gave the program (trace buffer, wakeup, markers, replay
  // script), kept
  // open for the processes it executes; -1 where absent. Set before the shim is published.
  int own_fds[4] = {-1, -1, -1, -1};
  bool owns(int fd) const {
    for (int own : own_fds) {
      if (fd >= 0 && fd == own) return true;
    }
    return false;
  }
  std::mutex mutex;                           // guards `mappings`
  std::map<uintptr_t, ShimMapping> mappings;  // by start address
  ModuleMarks modules;                        // guarded by `mutex` too
};

// The shim, once `mmiotrace record` configured it; null when the program is not traced.
Shim* active_shim();

// Marks this thread as inside the shim, so that what the shim itself calls (libc may map
// memory) is not traced. False when the shim is inactive or already entered.
class ShimScope {
 public:
  ShimScope();
  ~ShimScope();
  ShimScope(const ShimScope&) = delete;
  ShimScope& operator=(const ShimScope&) = delete;
  explicit operator bool() const { return entered_; }

 private:
  bool entered_;
};

// After mmap(): traces the new mapping if its file matches the globs.
void trace_new_mapping(uintptr_t address, size_t length, int prot, int flags, int fd, off_t offset,
                       uintptr_t pc);

// mmap() of a virtual device's descriptor: a placeholder mapping whose accesses the device's
// model (or replay) answers, traced. Returns the mapping, or MAP_FAILED with errno.
void* map_device(const DeviceFile& device, uintptr_t address, size_t length, int prot, int flags,
                 off_t offset, uintptr_t pc);

// Before `range` is unmapped or mapped over: traced mappings inside it end (UNMAP); those that
// only lose a part keep their map id and go on being traced in what remains.
void forget_range(AddressRange range, uintptr_t pc);

// mremap() of a traced mapping: moved, grown or shrunk, it ends (UNMAP) and starts again where
// it now is (MAP). `remap` does the real mremap (on the program's mapping, then on the alias).
void* remap_traced(uintptr_t old_address, size_t old_size, size_t new_size, int flags,
                   uintptr_t new_address, uintptr_t pc);

// The program's mprotect() of `pages`, some of them traced: armed pages stay armed and take
// `protection` as theirs; the others are mprotected. Returns 0, or -1 with errno.
int protect_traced(AddressRange pages, int protection);

// Copies for a system call given a buffer that lies (partly) in traced memory: out of the
// program's buffer (the kernel will read the copy), or into it (the kernel wrote the copy).
// Traced parts go through the aliases and are recorded as block reads or writes. False (errno
// EFAULT) when part of the buffer is not mapped.
bool copy_from_program(uintptr_t address, size_t size, uint8_t* to, uintptr_t pc);
bool copy_to_program(uintptr_t address, size_t size, const uint8_t* from, uintptr_t pc);

// Where the byte at `address` can be reached without faulting: its alias when it lies on an
// armed page, or itself; 0 when an armed page has no alias.
uintptr_t reachable_address(uintptr_t address);

}  // namespace mmiotrace::preload
