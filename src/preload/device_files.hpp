// Virtual device files: paths the shim makes exist for the traced program (`mmiotrace record
// --device MODEL[:ARGS]@PATH`, `mmiotrace replay --map MAPID@PATH`). Opening one gives a
// descriptor (a memfd named after the device), stat() says it is a character device, and its
// mappings are answered by a device model or a replayed trace. Set up once by the shim's
// constructor, read-only afterwards; normal context.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/model_backend.hpp"
#include "backend/replay_backend.hpp"

namespace mmiotrace::preload {

struct DeviceFile {
  size_t index = 0;
  std::string path;       // absolute, normalized
  std::string model;      // the model's name (a plugin's path), or "replay"
  std::string arguments;  // the model's ARGS, or the replayed map id
  // A model, and its device: made when a process of the program first opens or maps the path,
  // so that processes that never use a device do not make it (DeviceFiles::ready).
  const mmiotrace_device_model* model_table = nullptr;
  mutable std::once_flag made;
  mutable std::unique_ptr<backend::DeviceInstance> instance;
  // A replay's script, and the recorded mappings served at this path: the program's first
  // mapping of the path gets the first, and so on; a mapping the trace does not have fails.
  backend::ReplayHeader* script = nullptr;
  std::vector<backend::ReplayMap*> replay_maps;
  mutable uint64_t size = 0;  // a model's register space, which a mapping may not pass (once made)
  // A virtual PCI function's BAR (`mmiotrace record --pci`): `path` is its resourceN file, which
  // the mount namespace provides, so open() leaves it alone; its mappings (through resourceN,
  // /dev/mem, /dev/uioN or VFIO) reach the BAR's `bar_size` bytes at physical `phys_base`.
  bool pci_bar = false;
  uint64_t phys_base = 0;
  uint64_t bar_size = 0;
  std::string uio_path;  // "/dev/uioN" when bound to uio_pci_generic: opened like a device
  // /dev/mem where the host has none: mappings at a BAR's physical address reach that BAR.
  bool physical_memory = false;
  // A node of the emulated VFIO (preload/vfio_files.hpp): /dev/vfio/vfio, the container
  // (vfio_group -1), or /dev/vfio/N, the group N. Its descriptors answer VFIO's ioctls.
  bool vfio_node = false;
  int vfio_group = -1;
};

// Which device a mapping reaches, and where in it: a model's register offset, or a recorded
// mapping and the offset in it. Shared by the pieces of a mapping.
struct DeviceWindow {
  const DeviceFile* file = nullptr;
  backend::ReplayMap* replay_map = nullptr;  // for a replay
};

class DeviceFiles {
 public:
  // From the environment `mmiotrace record` set (MMIOTRACE_DEVICES, MMIOTRACE_REPLAY_FD).
  // A device that cannot be made is reported on stderr and left out.
  static DeviceFiles from_environment();

  bool empty() const { return files_.empty(); }
  // The device at `path` (relative to `directory_fd`, as openat() takes it), or null.
  const DeviceFile* find_path(int directory_fd, const char* path) const;
  // The device `fd` was opened on, or null.
  const DeviceFile* find_descriptor(int fd) const;

  // Makes `file`'s device if it is not made yet (a replay's is always ready). False, with the
  // model's reason on stderr, when the model cannot make it.
  bool ready(const DeviceFile& file) const;

  // A new descriptor for `file`, as open() with `flags` would return, or -1 with errno.
  int open(const DeviceFile& file, int flags) const;
  // What stat() says of the device: a character device, read-write for its owner and group.
  void describe(const DeviceFile& file, struct stat* status) const;

  // The window a new mapping of `file` opens: for a replay, the next recorded mapping of the
  // path (none, replay_map null, when the trace has no more). Caller holds the shim's lock.
  DeviceWindow open_window(const DeviceFile& file);
  // What answers the accesses of a mapping whose first byte is at `offset` in `window` (a
  // model's register offset; for a replay, the offset from the recorded mapping's start).
  std::shared_ptr<backend::Backend> make_backend(const DeviceWindow& window, uint64_t offset) const;
  // The physical address the trace gives `offset` in `window`.
  uint64_t physical_address(const DeviceWindow& window, uint64_t offset) const;

  // A virtual PCI function's BAR, answered by `model` with `arguments` (see DeviceFile). False,
  // with the reason on stderr, when the model is unknown.
  bool add_pci_bar(const std::string& resource_path, const std::string& model,
                   const std::string& arguments, uint64_t phys_base, uint64_t bar_size,
                   const std::string& uio_path);
  // The replayed device at `resource_path` serves a virtual PCI function's BAR (see DeviceFile);
  // false when there is none.
  bool adopt_pci_bar(const std::string& resource_path, uint64_t phys_base, uint64_t bar_size,
                     const std::string& uio_path);
  // Makes `path` a /dev/mem whose mappings reach the PCI BARs (DeviceFile::physical_memory).
  void add_physical_memory(const std::string& path);
  // Makes `path` a node of the emulated VFIO: the container (`group` -1) or a group.
  void add_vfio_node(const std::string& path, int group);
  // The BAR holding the physical range [address, address + length), or null.
  const DeviceFile* pci_bar_at(uint64_t address, uint64_t length) const;

  // In a forked child: no other thread holds a device any more.
  void release_after_fork();

  DeviceFiles() = default;
  DeviceFiles(DeviceFiles&&) = default;
  DeviceFiles& operator=(DeviceFiles&&) = default;
  ~DeviceFiles();  // destroys the models' devices

 private:
  std::vector<std::unique_ptr<DeviceFile>> files_;
  std::vector<size_t> replay_windows_opened_;  // per file; the shim's lock guards it
};

// `path` made absolute against `directory_fd` (AT_FDCWD: the working directory), with "."
// and ".." and repeated slashes resolved lexically (the path need not exist).
std::string normalized_path(int directory_fd, const char* path);

}  // namespace mmiotrace::preload
