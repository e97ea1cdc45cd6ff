// The emulated VFIO of the virtual PCI functions bound to vfio-pci (`mmiotrace record --pci
// MODEL[:ARGS,]driver=vfio-pci@BDF`): /dev/vfio/vfio (a container) and /dev/vfio/GROUP answer
// the container, group and device ioctls a user-space driver makes, as the kernel's vfio,
// vfio_iommu_type1 and vfio-pci do; the device descriptor's regions are its configuration space
// (through the function's config file, recorded as its markers) and its BAR (mapped, or read
// and written with pread/pwrite, answered by the BAR's model and traced at its physical
// address). DMA mappings, resets and interrupt settings are MARK lines; a request it does not
// implement gets the errno the kernel gives for it and is named once, on stderr and in the
// trace. State is the process's own (a child of fork() starts with a copy; a program it
// executes does not inherit it). Normal context, in the traced program; one lock guards it.
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.hpp"
#include "preload/device_files.hpp"
#include "preload/pci_files.hpp"

namespace mmiotrace::preload {

struct Shim;

class VfioFiles {
 public:
  // The functions of `pci` bound to vfio-pci: /dev/vfio/vfio and their groups' nodes are added
  // to `devices`, which must not change afterwards.
  void attach(PciFiles& pci, DeviceFiles& devices);
  bool empty() const { return functions_.empty(); }

  // After the program opened `node` as `fd`: `fd`, or -1 with errno EBUSY (and `fd` closed)
  // when the group is open already, as the kernel allows one open of a group at a time.
  int note_open(int fd, const DeviceFile& node);
  // Whether `fd` is one of the emulation's descriptors: a container, a group or a device.
  bool owns(int fd);
  // After the program made `copy` from `fd` (dup(), dup2(), dup3(), fcntl(F_DUPFD...)): `copy`
  // is the emulation's when `fd` is.
  void note_copy(int fd, int copy);

  // The emulated system calls on such a descriptor: 0 (or the ioctl's result) or -1 with errno.
  // `pc` is the program's call, for the trace.
  int ioctl(Shim& shim, int fd, unsigned long request, uintptr_t argument, uintptr_t pc);
  ssize_t transfer(Shim& shim, int fd, void* buffer, size_t size, off_t offset, bool write,
                   uintptr_t pc);
  void* map(int fd, uintptr_t address, size_t length, int prot, int flags, off_t offset,
            uintptr_t pc);

 private:
  struct Function {
    PciFunctionFiles* files = nullptr;
    const DeviceFile* bar = nullptr;  // the BAR the model answers
    int group = -1;
    // pread/pwrite of the BAR: a mapping of the BAR in the trace (map id), made at the first.
    int map_id = 0;
    DeviceWindow window;
    std::shared_ptr<backend::Backend> backend;
  };
  struct Dma {
    uint64_t iova = 0;
    uint64_t size = 0;
    uint64_t vaddr = 0;
    uint32_t flags = 0;
  };
  struct Container {
    bool iommu = false;  // VFIO_SET_IOMMU done
    std::vector<int> groups;
    std::vector<Dma> dma;
  };
  struct Group {
    ino_t opened = 0;     // the open group descriptor's file, 0 when closed
    ino_t container = 0;  // the container it joined, 0 for none
  };
  enum class Kind { Container, Group, Device };
  struct Descriptor {
    Kind kind = Kind::Container;
    int group = -1;       // Group
    size_t function = 0;  // Device: index in functions_
  };

  Descriptor* descriptor_of(int fd);
  bool alive(ino_t file);
  void release_closed_groups();
  void detach(int group);
  void name_unimplemented(Shim& shim, Kind kind, unsigned long request);
  void mark(Shim& shim, const Function& function, const char* action,
            const std::vector<uint64_t>& values);

  int container_ioctl(Shim& shim, ino_t file, unsigned long request, uintptr_t argument,
                      uintptr_t pc);
  int group_ioctl(Shim& shim, int group, unsigned long request, uintptr_t argument, uintptr_t pc);
  int device_ioctl(Shim& shim, size_t function, unsigned long request, uintptr_t argument,
                   uintptr_t pc);
  int map_dma(Shim& shim, Container& container, uintptr_t argument, uintptr_t pc);
  int unmap_dma(Shim& shim, Container& container, uintptr_t argument, uintptr_t pc);
  int iommu_info(uintptr_t argument, uintptr_t pc);
  int open_device(int group, uintptr_t argument, uintptr_t pc);
  int region_info(Function& function, uintptr_t argument, uintptr_t pc);
  int irq_info(Function& function, uintptr_t argument, uintptr_t pc);
  int set_irqs(Shim& shim, Function& function, uintptr_t argument, uintptr_t pc);
  ssize_t bar_transfer(Shim& shim, Function& function, unsigned bar, uint8_t* bytes, size_t size,
                       uint64_t offset, bool write, uintptr_t pc);

  static constexpr int kTrackedDescriptors = 4096;
  PciFiles* pci_ = nullptr;
  std::vector<Function> functions_;
  std::mutex lock_;  // guards what follows
  // Per descriptor: the inode of the emulation's file it was opened on, 0 for none (checked
  // against fstat() on use, as PciFiles does).
  std::array<std::atomic<ino_t>, kTrackedDescriptors> descriptors_ = {};
  std::map<ino_t, Descriptor> files_;
  std::map<ino_t, Container> containers_;
  std::map<int, Group> groups_;
  std::set<std::pair<int, unsigned long>> named_;  // unimplemented requests already in the trace
};

}  // namespace mmiotrace::preload
