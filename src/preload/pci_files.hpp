// The virtual PCI functions of `mmiotrace record --pci`, as the traced process meets them. The
// mount namespace `mmiotrace record` made shows their sysfs folders (a tmpfs); what must reach
// a model or be recorded goes through here: the `config` file (read and written through the
// function's write mask, the state shared by every process in the file itself, each access a
// marker in the trace), the `resourceN` files and /dev/mem (mappings of a BAR, answered by its
// model), /dev/uioN. Set up by the shim's constructor, read-only afterwards except the
// descriptor table; normal context.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "devices/pci_function.hpp"
#include "preload/device_files.hpp"

namespace mmiotrace::recorder {
class Recorder;
}

namespace mmiotrace::preload {

struct PciFunctionFiles {
  devices::PciAttachment attachment;
  std::array<devices::PciBar, devices::kPciBars> bars = {};
  std::string folder;  // /sys/devices/pciDDDD:BB/DDDD:BB:DD.F
  ino_t config_inode = 0;
  ino_t resource_inode = 0;  // the model's BAR's resourceN
  const DeviceFile* bar = nullptr;
  // The shim's own descriptor of `config`, and the write mask: made on first use, under `lock`.
  std::mutex lock;
  int config_fd = -1;
  bool mask_made = false;
  std::array<uint8_t, devices::kPciConfigSize> mask = {};
};

class PciFiles {
 public:
  // From MMIOTRACE_PCI_DEVICES; adds each function's BAR (and /dev/mem where the host has none)
  // to `devices`, which must not change afterwards.
  void attach_from_environment(DeviceFiles& devices);
  bool empty() const { return functions_.empty(); }

  // After the program opened `fd`: notes it when it is a function's config or resourceN file.
  void note_open(int fd);
  // The function whose config file `fd` is, or null.
  PciFunctionFiles* config_of(int fd);
  // The BAR whose resourceN file `fd` is, or null.
  const DeviceFile* resource_of(int fd);
  // Whether `fd` is the host's /dev/mem.
  bool is_host_physical_memory(int fd) const;

  // pread() and pwrite() of a config file, recorded as markers: the writable bits change, the
  // others keep their value (BAR sizing works as on hardware). -1 with errno on failure.
  ssize_t read_config(PciFunctionFiles& function, int fd, void* buffer, size_t size, off_t offset,
                      recorder::Recorder& recorder);
  ssize_t write_config(PciFunctionFiles& function, int fd, const void* buffer, size_t size,
                       off_t offset, recorder::Recorder& recorder);

  // The same through the shim's own descriptor of the config file, for VFIO's config region:
  // `size` bytes at `offset`, recorded as markers. -1 with errno on failure.
  ssize_t access_config(PciFunctionFiles& function, void* buffer, size_t size, off_t offset,
                        bool write, recorder::Recorder& recorder);
  // The whole configuration space as it is now (its first config_size() bytes), unrecorded: for
  // the shim's own reading of capabilities and the command register. False on failure.
  bool config_contents(PciFunctionFiles& function,
                       std::array<uint8_t, devices::kPciConfigSize>* out, size_t* config_size);
  // Sets bits of the command register, unrecorded, as the kernel does when a driver enables the
  // device (pci_enable_device()).
  void enable_decoding(PciFunctionFiles& function, uint16_t bits);

  const std::vector<std::unique_ptr<PciFunctionFiles>>& functions() const { return functions_; }

 private:
  bool config_ready(PciFunctionFiles& function);
  static constexpr int kTrackedDescriptors = 4096;
  std::vector<std::unique_ptr<PciFunctionFiles>> functions_;
  dev_t tree_device_ = 0;  // the tmpfs the folders are on
  dev_t host_memory_ = 0;  // st_rdev of the host's /dev/mem, 0 if none
  // Per descriptor: the inode of the function's file it was opened on, 0 for none (checked
  // against fstat() on use, so a descriptor closed and reused behind the shim's back is not
  // taken for one).
  std::array<std::atomic<ino_t>, kTrackedDescriptors> descriptors_ = {};
};

}  // namespace mmiotrace::preload
