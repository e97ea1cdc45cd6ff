// The emulated VFIO of virtual PCI functions (see vfio_files.hpp). Each request follows what the
// kernel's drivers/vfio (vfio_main.c, group.c, container.c, vfio_iommu_type1.c, pci/) does with
// it: the same checks in the same order, the same errno. The structures are <linux/vfio.h>'s.
#include "preload/vfio_files.hpp"

#include <linux/vfio.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "core/address_range.hpp"
#include "core/diagnostics.hpp"
#include "core/monotonic_clock.hpp"
#include "core/syscall.hpp"
#include "preload/shim.hpp"
#include "recorder/ring_sink.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::preload {
namespace {

constexpr int kRegionShift = 40;  // VFIO_PCI_OFFSET_SHIFT: region N starts at N << 40
constexpr uint64_t kRegionMask = (uint64_t{1} << kRegionShift) - 1;
constexpr uint32_t kRegionCount = VFIO_PCI_NUM_REGIONS;
constexpr uint32_t kIrqCount = VFIO_PCI_NUM_IRQS;
// What an Intel IOMMU offers: 4K, 2M and 1G pages; IOVAs below 2^48 but the MSI window; 65535
// mappings (vfio_iommu_type1's dma_entry_limit).
constexpr uint64_t kIovaPageSizes = (1u << 12) | (1u << 21) | (1u << 30);
constexpr uint64_t kIovaPage = 4096;
constexpr uint64_t kMsiWindowBegin = 0xfee00000;
constexpr uint64_t kMsiWindowEnd = 0xfeefffff;
constexpr uint64_t kIovaEnd = (uint64_t{1} << 48) - 1;
constexpr uint32_t kDmaEntryLimit = 65535;
constexpr uint16_t kCommandMemory = 0x2;  // PCI_COMMAND_MEMORY

template <typename Struct>
constexpr size_t end_of(size_t offset, size_t size) {
  static_assert(std::is_standard_layout_v<Struct>);  // what offsetof() needs
  return offset + size;
}
#define VFIO_END_OF(type, field) end_of<type>(offsetof(type, field), sizeof(type::field))

// The inode of the file `fd` is open on, 0 when it is not open: the kernel's own answer, past
// the shim's fstat(), which describes every descriptor of one device node alike.
ino_t inode_of(int fd) {
  struct stat status;
  if (sys::syscall6(SYS_fstat, fd, sys::as_long(&status)) != 0) return 0;
  return status.st_ino;
}

// The first `size` bytes of the program's argument, or -EFAULT.
int read_argument(uintptr_t argument, void* out, size_t size, uintptr_t pc) {
  if (argument == 0) return -EFAULT;
  return copy_from_program(argument, size, static_cast<uint8_t*>(out), pc) ? 0 : -EFAULT;
}
int write_argument(uintptr_t argument, const void* in, size_t size, uintptr_t pc) {
  if (argument == 0) return -EFAULT;
  return copy_to_program(argument, size, static_cast<const uint8_t*>(in), pc) ? 0 : -EFAULT;
}

// The capabilities a function's configuration space lists (the kernel's pci_find_capability()).
struct Capabilities {
  size_t msi = 0;     // offset of the MSI capability, 0 for none
  size_t msix = 0;    // MSI-X
  bool pcie = false;  // a PCI Express function
};

Capabilities find_capabilities(const std::array<uint8_t, devices::kPciConfigSize>& config) {
  Capabilities found;
  if ((config[6] & 0x10) == 0) return found;  // PCI_STATUS_CAP_LIST
  size_t at = config[0x34] & ~3u;
  for (int left = 48; at >= 0x40 && at < 256 && left > 0; --left) {
    switch (config[at]) {
      case 0x05:
        found.msi = at;
        break;
      case 0x10:
        found.pcie = true;
        break;
      case 0x11:
        found.msix = at;
        break;
      default:
        break;
    }
    at = config[at + 1] & ~3u;
  }
  return found;
}

uint16_t read16(const std::array<uint8_t, devices::kPciConfigSize>& config, size_t at) {
  return static_cast<uint16_t>(config[at] | config[at + 1] << 8);
}
uint32_t read32(const std::array<uint8_t, devices::kPciConfigSize>& config, size_t at) {
  return static_cast<uint32_t>(read16(config, at) | read16(config, at + 2) << 16);
}

// Whether [iova, iova + size) lies in the IOVA ranges the IOMMU offers.
bool iova_valid(uint64_t iova, uint64_t size) {
  uint64_t last = iova + size - 1;
  bool below = last < kMsiWindowBegin;
  bool above = iova > kMsiWindowEnd && last <= kIovaEnd;
  return below || above;
}

// Runs `call` with the thread's signals blocked, as the signal handlers call the models: a
// handler of this thread that reaches the same device cannot interrupt it.
template <typename Call>
void with_signals_blocked(Call call) {
  sigset_t all;
  sigset_t before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  call();
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

}  // namespace

void VfioFiles::attach(PciFiles& pci, DeviceFiles& devices) {
  pci_ = &pci;
  std::set<int> groups;
  for (const auto& files : pci.functions()) {
    const devices::PciAttachment& attachment = files->attachment;
    if (attachment.driver != "vfio-pci" || attachment.group < 0 || files->bar == nullptr) continue;
    Function function;
    function.files = files.get();
    function.bar = files->bar;
    function.group = attachment.group;
    functions_.push_back(std::move(function));
    groups.insert(attachment.group);
  }
  if (functions_.empty()) return;
  devices.add_vfio_node("/dev/vfio/vfio", -1);
  for (int group : groups)
    devices.add_vfio_node("/dev/vfio/" + std::to_string(group), group);
}

int VfioFiles::note_open(int fd, const DeviceFile& node) {
  if (fd < 0) return fd;
  ino_t inode = fd < kTrackedDescriptors ? inode_of(fd) : 0;
  if (inode == 0) {
    close(fd);
    errno = EMFILE;
    return -1;
  }
  std::lock_guard guard(lock_);
  release_closed_groups();
  Descriptor descriptor;
  if (node.vfio_group >= 0) {
    Group& group = groups_[node.vfio_group];
    if (group.opened != 0) {
      close(fd);
      errno = EBUSY;
      return -1;
    }
    group.opened = inode;
    descriptor.kind = Kind::Group;
    descriptor.group = node.vfio_group;
  } else {
    containers_[inode] = Container();
  }
  files_[inode] = descriptor;
  descriptors_[static_cast<size_t>(fd)].store(inode, std::memory_order_relaxed);
  return fd;
}

bool VfioFiles::owns(int fd) {
  if (fd < 0 || fd >= kTrackedDescriptors || functions_.empty()) return false;
  ino_t inode = descriptors_[static_cast<size_t>(fd)].load(std::memory_order_relaxed);
  if (inode == 0) return false;
  if (inode_of(fd) != inode) {
    descriptors_[static_cast<size_t>(fd)].store(0, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void VfioFiles::note_copy(int fd, int copy) {
  if (copy < 0 || copy >= kTrackedDescriptors || functions_.empty()) return;
  ino_t inode =
      owns(fd) ? descriptors_[static_cast<size_t>(fd)].load(std::memory_order_relaxed) : 0;
  descriptors_[static_cast<size_t>(copy)].store(inode, std::memory_order_relaxed);
}

VfioFiles::Descriptor* VfioFiles::descriptor_of(int fd) {
  if (!owns(fd)) return nullptr;
  auto found = files_.find(descriptors_[static_cast<size_t>(fd)].load(std::memory_order_relaxed));
  return found == files_.end() ? nullptr : &found->second;
}

// Whether a descriptor the program holds is still open on `file` (lock held).
bool VfioFiles::alive(ino_t file) {
  for (int fd = 0; fd < kTrackedDescriptors; ++fd) {
    if (descriptors_[static_cast<size_t>(fd)].load(std::memory_order_relaxed) != file) continue;
    if (inode_of(fd) == file) return true;
    descriptors_[static_cast<size_t>(fd)].store(0, std::memory_order_relaxed);
  }
  return false;
}

// A group whose descriptor the program closed is released, as the kernel's release of the file
// does: it leaves its container (lock held).
void VfioFiles::release_closed_groups() {
  for (auto& [number, group] : groups_) {
    if (group.opened == 0 || alive(group.opened)) continue;
    bool device_open = false;
    for (const auto& [file, descriptor] : files_) {
      if (descriptor.kind == Kind::Device && functions_[descriptor.function].group == number &&
          alive(file)) {
        device_open = true;  // a device descriptor holds its group
      }
    }
    if (device_open) continue;
    files_.erase(group.opened);
    group.opened = 0;
    detach(number);
  }
}

// The group leaves its container; a container left without groups loses its IOMMU and mappings.
void VfioFiles::detach(int number) {
  Group& group = groups_[number];
  if (group.container == 0) return;
  Container& container = containers_[group.container];
  std::erase(container.groups, number);
  if (container.groups.empty()) {
    container.iommu = false;
    container.dma.clear();
  }
  group.container = 0;
}

void VfioFiles::name_unimplemented(Shim& shim, Kind kind, unsigned long request) {
  if (!named_.insert({static_cast<int>(kind), request}).second) return;
  const char* subject = kind == Kind::Container ? "container"
                        : kind == Kind::Group   ? "group"
                                                : "device";
  std::string text = trace::format_vfio_marker({subject, "unimplemented", {request}});
  shim.recorder.mark(text.data(), text.size());
  Diagnostic line;
  line.text("the emulated VFIO does not implement ioctl ").hex0x(request).text(" on a ");
  line.text(subject).text(" descriptor; the program got ENOTTY");
  line.emit();
}

void VfioFiles::mark(Shim& shim, const Function& function, const char* action,
                     const std::vector<uint64_t>& values) {
  std::string text =
      trace::format_vfio_marker({function.files->attachment.address.text(), action, values});
  shim.recorder.mark(text.data(), text.size());
}

int VfioFiles::ioctl(Shim& shim, int fd, unsigned long request, uintptr_t argument, uintptr_t pc) {
  int result = -ENOTTY;
  {
    std::lock_guard guard(lock_);
    release_closed_groups();
    Descriptor* descriptor = descriptor_of(fd);
    if (descriptor == nullptr) {
      errno = EBADF;
      return -1;
    }
    switch (descriptor->kind) {
      case Kind::Container:
        result = container_ioctl(shim, descriptors_[static_cast<size_t>(fd)].load(), request,
                                 argument, pc);
        break;
      case Kind::Group:
        result = group_ioctl(shim, descriptor->group, request, argument, pc);
        break;
      case Kind::Device:
        result = device_ioctl(shim, descriptor->function, request, argument, pc);
        break;
    }
  }
  if (result < 0) {
    errno = -result;
    return -1;
  }
  return result;
}

// /dev/vfio/vfio (container.c): the API version, extensions, the IOMMU type, then what the type1
// IOMMU answers once set.
int VfioFiles::container_ioctl(Shim& shim, ino_t file, unsigned long request, uintptr_t argument,
                               uintptr_t pc) {
  Container& container = containers_[file];
  switch (request) {
    case VFIO_GET_API_VERSION:
      return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION:
      switch (argument) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
          return 1;
        case VFIO_DMA_CC_IOMMU:  // a model's accesses are cache-coherent
          return container.iommu ? 1 : 0;
        default:
          return 0;
      }
    case VFIO_SET_IOMMU:
      if (container.groups.empty() || container.iommu) return -EINVAL;
      if (argument != VFIO_TYPE1_IOMMU && argument != VFIO_TYPE1v2_IOMMU) return -ENODEV;
      container.iommu = true;
      return 0;
    default:
      break;
  }
  if (!container.iommu) return -EINVAL;  // nothing to pass an unknown request to
  switch (request) {
    case VFIO_IOMMU_GET_INFO:
      return iommu_info(argument, pc);
    case VFIO_IOMMU_MAP_DMA:
      return map_dma(shim, container, argument, pc);
    case VFIO_IOMMU_UNMAP_DMA:
      return unmap_dma(shim, container, argument, pc);
    default:
      name_unimplemented(shim, Kind::Container, request);
      return -ENOTTY;
  }
}

int VfioFiles::iommu_info(uintptr_t argument, uintptr_t pc) {
  vfio_iommu_type1_info info = {};
  size_t size = VFIO_END_OF(vfio_iommu_type1_info, iova_pgsizes);
  if (int error = read_argument(argument, &info, size, pc)) return error;
  if (info.argsz < size) return -EINVAL;
  size_t with_caps = VFIO_END_OF(vfio_iommu_type1_info, cap_offset);
  if (info.argsz >= with_caps) {
    size = with_caps;
    info.cap_offset = 0;
  }
  info.flags = VFIO_IOMMU_INFO_PGSIZES;
  info.iova_pgsizes = kIovaPageSizes;
  // The capability chain: the mappings left, then the IOVA ranges, each starting 8-aligned
  // (vfio_info_cap_add()); `next` counts from the start of `info`.
  vfio_iommu_type1_info_dma_avail avail = {};
  vfio_iommu_type1_info_cap_iova_range ranges = {};
  const vfio_iova_range range[2] = {{0, kMsiWindowBegin - 1}, {kMsiWindowEnd + 1, kIovaEnd}};
  constexpr size_t kAvailSize = (sizeof(avail) + 7) & ~size_t{7};
  uint8_t caps[kAvailSize + sizeof(ranges) + sizeof(range)] = {};
  avail.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
  avail.header.version = 1;
  avail.header.next = static_cast<uint32_t>(sizeof(info) + kAvailSize);
  avail.avail = kDmaEntryLimit;
  ranges.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
  ranges.header.version = 1;
  ranges.nr_iovas = 2;
  memcpy(caps, &avail, sizeof(avail));
  memcpy(caps + kAvailSize, &ranges, sizeof(ranges));
  memcpy(caps + kAvailSize + sizeof(ranges), range, sizeof(range));
  info.flags |= VFIO_IOMMU_INFO_CAPS;
  if (info.argsz < sizeof(info) + sizeof(caps)) {
    info.argsz = static_cast<uint32_t>(sizeof(info) + sizeof(caps));
  } else {
    if (int error = write_argument(argument + sizeof(info), caps, sizeof(caps), pc)) return error;
    info.cap_offset = sizeof(info);
  }
  return write_argument(argument, &info, size, pc);
}

int VfioFiles::map_dma(Shim& shim, Container& container, uintptr_t argument, uintptr_t pc) {
  vfio_iommu_type1_dma_map map = {};
  size_t size = VFIO_END_OF(vfio_iommu_type1_dma_map, size);
  if (int error = read_argument(argument, &map, size, pc)) return error;
  // VFIO_DMA_MAP_FLAG_VADDR belongs to VFIO_UPDATE_VADDR, an extension this IOMMU lacks.
  if (map.argsz < size || (map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))) {
    return -EINVAL;
  }
  if ((map.flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)) == 0 || map.size == 0 ||
      ((map.size | map.iova | map.vaddr) & (kIovaPage - 1)) != 0) {
    return -EINVAL;
  }
  if (map.iova + map.size - 1 < map.iova || map.vaddr + map.size - 1 < map.vaddr) return -EINVAL;
  for (const Dma& dma : container.dma) {
    if (map.iova < dma.iova + dma.size && dma.iova < map.iova + map.size) return -EEXIST;
  }
  if (container.dma.size() >= kDmaEntryLimit) return -ENOSPC;
  if (!iova_valid(map.iova, map.size)) return -EINVAL;
  // The kernel pins the pages: memory that is not mapped cannot be.
  if (msync(reinterpret_cast<void*>(map.vaddr), map.size, MS_ASYNC) != 0) return -EFAULT;
  container.dma.push_back({map.iova, map.size, map.vaddr, map.flags});
  for (int group : container.groups) {
    for (const Function& function : functions_) {
      if (function.group == group) {
        mark(shim, function, "dma-map", {map.iova, map.size, map.vaddr, map.flags});
      }
    }
  }
  return 0;
}

int VfioFiles::unmap_dma(Shim& shim, Container& container, uintptr_t argument, uintptr_t pc) {
  vfio_iommu_type1_dma_unmap unmap = {};
  size_t size = VFIO_END_OF(vfio_iommu_type1_dma_unmap, size);
  if (int error = read_argument(argument, &unmap, size, pc)) return error;
  // Dirty page tracking and VFIO_UPDATE_VADDR are extensions this IOMMU lacks.
  if (unmap.argsz < size || (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)) return -EINVAL;
  uint64_t begin = unmap.iova;
  uint64_t end = unmap.iova + unmap.size;
  if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
    if (unmap.iova != 0 || unmap.size != 0) return -EINVAL;
    begin = 0;
    end = UINT64_MAX;
  } else {
    if (unmap.size == 0 || ((unmap.iova | unmap.size) & (kIovaPage - 1)) != 0) return -EINVAL;
    if (end - 1 < begin) return -EINVAL;
    // Type1 (v1 and v2 alike, since Linux 5.x): a mapping may not be cut in two.
    for (const Dma& dma : container.dma) {
      bool overlaps = begin < dma.iova + dma.size && dma.iova < end;
      bool inside = dma.iova >= begin && dma.iova + dma.size <= end;
      if (overlaps && !inside) return -EINVAL;
    }
  }
  uint64_t unmapped = 0;
  std::vector<Dma> kept;
  for (const Dma& dma : container.dma) {
    if (dma.iova >= begin && dma.iova + dma.size - 1 <= end - 1) {
      unmapped += dma.size;
      for (int group : container.groups) {
        for (const Function& function : functions_) {
          if (function.group == group) mark(shim, function, "dma-unmap", {dma.iova, dma.size});
        }
      }
    } else {
      kept.push_back(dma);
    }
  }
  container.dma = std::move(kept);
  unmap.size = unmapped;
  return write_argument(argument, &unmap, size, pc);
}

// /dev/vfio/GROUP (group.c).
int VfioFiles::group_ioctl(Shim& shim, int number, unsigned long request, uintptr_t argument,
                           uintptr_t pc) {
  Group& group = groups_[number];
  switch (request) {
    case VFIO_GROUP_GET_STATUS: {
      vfio_group_status status = {};
      size_t size = VFIO_END_OF(vfio_group_status, flags);
      if (int error = read_argument(argument, &status, size, pc)) return error;
      if (status.argsz < size) return -EINVAL;
      status.flags = VFIO_GROUP_FLAGS_VIABLE;
      if (group.container != 0) status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
      return write_argument(argument, &status, size, pc);
    }
    case VFIO_GROUP_SET_CONTAINER: {
      int fd = -1;
      if (int error = read_argument(argument, &fd, sizeof(fd), pc)) return error;
      ino_t file = fd < 0 ? 0 : inode_of(fd);
      if (file == 0) return -EBADF;
      if (group.container != 0) return -EINVAL;
      Descriptor* descriptor = descriptor_of(fd);
      if (descriptor == nullptr || descriptor->kind != Kind::Container) return -EBADFD;
      Container& container = containers_[file];
      container.groups.push_back(number);
      group.container = file;
      return 0;
    }
    case VFIO_GROUP_UNSET_CONTAINER: {
      if (group.container == 0) return -EINVAL;
      for (const auto& [file, descriptor] : files_) {
        if (descriptor.kind == Kind::Device && functions_[descriptor.function].group == number &&
            alive(file)) {
          return -EBUSY;  // a device of the group is open
        }
      }
      detach(number);
      return 0;
    }
    case VFIO_GROUP_GET_DEVICE_FD:
      return open_device(number, argument, pc);
    default:
      name_unimplemented(shim, Kind::Group, request);
      return -ENOTTY;
  }
}

int VfioFiles::open_device(int number, uintptr_t argument, uintptr_t pc) {
  // The name, as strndup_user(arg, PAGE_SIZE) takes it: up to its NUL, read page by page.
  std::string name;
  for (uintptr_t at = argument;;) {
    size_t piece = kPageSize - at % kPageSize;
    char bytes[kPageSize];
    if (int error = read_argument(at, bytes, piece, pc)) return error;
    size_t length = strnlen(bytes, piece);
    name.append(bytes, length);
    if (length < piece) break;
    if (name.size() >= kPageSize) return -EINVAL;
    at += piece;
  }
  // vfio-pci's match: the device's name, then nothing or " vf_token=UUID" (a PF's token, which
  // none of these functions has).
  const Function* found = nullptr;
  size_t index = 0;
  for (size_t i = 0; i < functions_.size(); ++i) {
    if (functions_[i].group != number) continue;
    std::string own = functions_[i].files->attachment.address.text();
    if (name.compare(0, own.size(), own) != 0) continue;
    if (name.size() != own.size()) return -EINVAL;
    found = &functions_[i];
    index = i;
  }
  if (found == nullptr) return -ENODEV;
  Group& group = groups_[number];
  if (group.container == 0 || !containers_[group.container].iommu) return -EINVAL;
  int fd = memfd_create("mmiotrace-vfio-device", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  ino_t file = fd < kTrackedDescriptors ? inode_of(fd) : 0;
  if (file == 0) {
    close(fd);
    return -EMFILE;
  }
  Descriptor descriptor;
  descriptor.kind = Kind::Device;
  descriptor.function = index;
  files_[file] = descriptor;
  descriptors_[static_cast<size_t>(fd)].store(file, std::memory_order_relaxed);
  // vfio_pci_core_enable(): pci_enable_device() turns memory decoding on.
  pci_->enable_decoding(*found->files, kCommandMemory);
  return fd;
}

// The device descriptor (vfio_main.c, pci/vfio_pci_core.c).
int VfioFiles::device_ioctl(Shim& shim, size_t index, unsigned long request, uintptr_t argument,
                            uintptr_t pc) {
  Function& function = functions_[index];
  switch (request) {
    case VFIO_DEVICE_GET_INFO: {
      vfio_device_info info = {};
      size_t size = VFIO_END_OF(vfio_device_info, num_irqs);
      if (int error = read_argument(argument, &info, size, pc)) return error;
      if (info.argsz < size) return -EINVAL;
      // vfio-pci copies up to cap_offset when there is room, though it measures that room with
      // another structure's cap_offset (vfio_iommu_type1_info's, 20 bytes, as here).
      size_t with_caps = VFIO_END_OF(vfio_iommu_type1_info, cap_offset);
      if (info.argsz >= with_caps) {
        size = with_caps;
        info.cap_offset = 0;
      }
      info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
      info.num_regions = kRegionCount;
      info.num_irqs = kIrqCount;
      return write_argument(argument, &info, size, pc);
    }
    case VFIO_DEVICE_GET_REGION_INFO:
      return region_info(function, argument, pc);
    case VFIO_DEVICE_GET_IRQ_INFO:
      return irq_info(function, argument, pc);
    case VFIO_DEVICE_SET_IRQS:
      return set_irqs(shim, function, argument, pc);
    case VFIO_DEVICE_RESET: {
      if (!shim.devices.ready(*function.bar)) return -EIO;
      if (backend::DeviceInstance* device = function.bar->instance.get()) {
        with_signals_blocked([device] {
          while (device->busy.exchange(true, std::memory_order_acquire))
            sched_yield();
          device->model->reset(device->device);
          device->busy.store(false, std::memory_order_release);
        });
      }
      mark(shim, function, "reset", {});
      return 0;
    }
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
    case VFIO_DEVICE_PCI_HOT_RESET: {
      // The function sits alone on a root bus with no bridge above it: neither its slot nor its
      // bus can be reset.
      vfio_pci_hot_reset_info header = {};
      size_t size = VFIO_END_OF(vfio_pci_hot_reset_info, count);
      if (int error = read_argument(argument, &header, size, pc)) return error;
      if (header.argsz < size) return -EINVAL;
      if (request == VFIO_DEVICE_PCI_HOT_RESET && header.flags != 0) return -EINVAL;
      return -ENODEV;
    }
    case VFIO_DEVICE_FEATURE: {
      vfio_device_feature feature = {};
      size_t size = VFIO_END_OF(vfio_device_feature, flags);
      if (int error = read_argument(argument, &feature, size, pc)) return error;
      uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
                       VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
      if (feature.argsz < size || (feature.flags & ~known) ||
          ((feature.flags & VFIO_DEVICE_FEATURE_GET) && (feature.flags & VFIO_DEVICE_FEATURE_SET) &&
           !(feature.flags & VFIO_DEVICE_FEATURE_PROBE))) {
        return -EINVAL;
      }
      // No feature (migration, low power, a VF token) is emulated: each answers as a device
      // without it does.
      name_unimplemented(shim, Kind::Device, request);
      return -ENOTTY;
    }
    default:
      // VFIO_DEVICE_IOEVENTFD among them: answered as kernels before it answered it.
      name_unimplemented(shim, Kind::Device, request);
      return -ENOTTY;
  }
}

int VfioFiles::region_info(Function& function, uintptr_t argument, uintptr_t pc) {
  vfio_region_info info = {};
  size_t size = VFIO_END_OF(vfio_region_info, offset);
  if (int error = read_argument(argument, &info, size, pc)) return error;
  if (info.argsz < size) return -EINVAL;
  const devices::PciAttachment& attachment = function.files->attachment;
  bool msix_here = false;
  switch (info.index) {
    case VFIO_PCI_CONFIG_REGION_INDEX: {
      std::array<uint8_t, devices::kPciConfigSize> config;
      size_t config_size = 0;
      if (!pci_->config_contents(*function.files, &config, &config_size)) return -EIO;
      info.offset = uint64_t{info.index} << kRegionShift;
      info.size = config_size;
      info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      break;
    }
    case VFIO_PCI_BAR0_REGION_INDEX:
    case VFIO_PCI_BAR1_REGION_INDEX:
    case VFIO_PCI_BAR2_REGION_INDEX:
    case VFIO_PCI_BAR3_REGION_INDEX:
    case VFIO_PCI_BAR4_REGION_INDEX:
    case VFIO_PCI_BAR5_REGION_INDEX: {
      info.offset = uint64_t{info.index} << kRegionShift;
      info.size = info.index == attachment.bar ? attachment.layout.size : 0;
      if (info.size == 0) {
        info.flags = 0;
        break;
      }
      info.flags =
          VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
      std::array<uint8_t, devices::kPciConfigSize> config;
      size_t config_size = 0;
      if (pci_->config_contents(*function.files, &config, &config_size)) {
        Capabilities caps = find_capabilities(config);
        msix_here = caps.msix != 0 && (read32(config, caps.msix + 4) & 7) == info.index;
      }
      break;
    }
    case VFIO_PCI_ROM_REGION_INDEX:  // no model answers an expansion ROM
      info.offset = uint64_t{info.index} << kRegionShift;
      info.flags = 0;
      info.size = 0;
      break;
    default:  // VFIO_PCI_VGA_REGION_INDEX too: no function here decodes VGA
      return -EINVAL;
  }
  if (msix_here) {
    // The MSI-X table may be mapped with the rest of the BAR (VFIO_REGION_INFO_CAP_MSIX_MAPPABLE).
    vfio_info_cap_header cap = {VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, 0};
    info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
    if (info.argsz < sizeof(info) + sizeof(cap)) {
      info.argsz = static_cast<uint32_t>(sizeof(info) + sizeof(cap));
      info.cap_offset = 0;
    } else {
      if (int error = write_argument(argument + sizeof(info), &cap, sizeof(cap), pc)) return error;
      info.cap_offset = sizeof(info);
    }
  }
  return write_argument(argument, &info, size, pc);
}

int VfioFiles::irq_info(Function& function, uintptr_t argument, uintptr_t pc) {
  vfio_irq_info info = {};
  size_t size = VFIO_END_OF(vfio_irq_info, count);
  if (int error = read_argument(argument, &info, size, pc)) return error;
  if (info.argsz < size || info.index >= kIrqCount) return -EINVAL;
  std::array<uint8_t, devices::kPciConfigSize> config;
  size_t config_size = 0;
  if (!pci_->config_contents(*function.files, &config, &config_size)) return -EIO;
  Capabilities caps = find_capabilities(config);
  if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !caps.pcie) return -EINVAL;
  info.flags = VFIO_IRQ_INFO_EVENTFD;
  switch (info.index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
      info.count = config[0x3d] != 0 ? 1 : 0;  // an interrupt pin
      info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
      break;
    case VFIO_PCI_MSI_IRQ_INDEX:
      info.count = caps.msi ? 1u << ((read16(config, caps.msi + 2) & 0x0e) >> 1) : 0;
      info.flags |= VFIO_IRQ_INFO_NORESIZE;
      break;
    case VFIO_PCI_MSIX_IRQ_INDEX:
      info.count = caps.msix ? (read16(config, caps.msix + 2) & 0x7ff) + 1u : 0;
      info.flags |= VFIO_IRQ_INFO_NORESIZE;
      break;
    default:  // ERR, REQ
      info.count = 1;
      info.flags |= VFIO_IRQ_INFO_NORESIZE;
      break;
  }
  return write_argument(argument, &info, size, pc);
}

int VfioFiles::set_irqs(Shim& shim, Function& function, uintptr_t argument, uintptr_t pc) {
  vfio_irq_set header = {};
  size_t size = VFIO_END_OF(vfio_irq_set, count);
  if (int error = read_argument(argument, &header, size, pc)) return error;
  // How many interrupts of the kind the function has (vfio_pci_get_irq_count()).
  uint32_t most = 0;
  if (header.index < kIrqCount) {
    std::array<uint8_t, devices::kPciConfigSize> config;
    size_t config_size = 0;
    if (!pci_->config_contents(*function.files, &config, &config_size)) return -EIO;
    Capabilities caps = find_capabilities(config);
    switch (header.index) {
      case VFIO_PCI_INTX_IRQ_INDEX:
        most = config[0x3d] != 0 ? 1 : 0;
        break;
      case VFIO_PCI_MSI_IRQ_INDEX:
        most = caps.msi ? 1u << ((read16(config, caps.msi + 2) & 0x0e) >> 1) : 0;
        break;
      case VFIO_PCI_MSIX_IRQ_INDEX:
        most = caps.msix ? (read16(config, caps.msix + 2) & 0x7ff) + 1u : 0;
        break;
      case VFIO_PCI_ERR_IRQ_INDEX:
        most = caps.pcie ? 1 : 0;
        break;
      default:
        most = 1;
        break;
    }
  }
  // vfio_set_irqs_validate_and_prepare().
  uint32_t types = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK;
  if (header.argsz < size || header.index >= kIrqCount ||
      header.count >= UINT32_MAX - header.start || (header.flags & ~types)) {
    return -EINVAL;
  }
  if (header.start >= most || header.start + header.count > most) return -EINVAL;
  size_t element = 0;
  switch (header.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
      break;
    case VFIO_IRQ_SET_DATA_BOOL:
      element = 1;
      break;
    case VFIO_IRQ_SET_DATA_EVENTFD:
      element = 4;
      break;
    default:
      return -EINVAL;
  }
  if (element != 0) {
    if (header.argsz - size < header.count * element) return -EINVAL;
    std::vector<uint8_t> data(header.count * element);
    if (int error = read_argument(argument + size, data.data(), data.size(), pc)) return error;
  }
  // vfio_pci_set_irqs_ioctl(): masking applies to INTx only; the others are triggered.
  uint32_t action = header.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
  if (header.index != VFIO_PCI_INTX_IRQ_INDEX && action != VFIO_IRQ_SET_ACTION_TRIGGER) {
    return -ENOTTY;
  }
  mark(shim, function, "irqs", {header.index, header.start, header.count, header.flags});
  return 0;
}

ssize_t VfioFiles::transfer(Shim& shim, int fd, void* buffer, size_t size, off_t offset, bool write,
                            uintptr_t pc) {
  size_t index;
  {
    std::lock_guard guard(lock_);
    Descriptor* descriptor = descriptor_of(fd);
    if (descriptor == nullptr) {
      errno = EBADF;
      return -1;
    }
    if (descriptor->kind != Kind::Device) {
      errno = EINVAL;  // a container or group has no read or write
      return -1;
    }
    index = descriptor->function;
  }
  if (size == 0) return 0;
  Function& function = functions_[index];
  auto region = static_cast<uint64_t>(offset) >> kRegionShift;
  uint64_t position = static_cast<uint64_t>(offset) & kRegionMask;
  if (offset < 0 || region >= kRegionCount) {
    errno = EINVAL;
    return -1;
  }
  // The program's buffer is read or written once, through the shim's copies (it may be traced).
  std::vector<uint8_t> bytes(size);
  auto program = reinterpret_cast<uintptr_t>(buffer);
  if (write && !copy_from_program(program, size, bytes.data(), pc)) return -1;
  ssize_t done;
  if (region == VFIO_PCI_CONFIG_REGION_INDEX) {
    std::array<uint8_t, devices::kPciConfigSize> config;
    size_t config_size = 0;
    if (!pci_->config_contents(*function.files, &config, &config_size)) {
      errno = EIO;
      return -1;
    }
    if (position >= config_size || size > config_size - position) {
      errno = EFAULT;  // vfio_config_do_rw() refuses an access past the space
      return -1;
    }
    done = pci_->access_config(*function.files, bytes.data(), size, static_cast<off_t>(position),
                               write, shim.recorder);
  } else if (region < VFIO_PCI_ROM_REGION_INDEX) {
    done = bar_transfer(shim, function, static_cast<unsigned>(region), bytes.data(), size, position,
                        write, pc);
  } else {
    errno = EINVAL;  // no expansion ROM to read or write, no VGA
    return -1;
  }
  if (done > 0 && !write &&
      !copy_to_program(program, static_cast<size_t>(done), bytes.data(), pc)) {
    return -1;
  }
  return done;
}

// vfio_pci_bar_rw(): accesses of 4, 2 or 1 bytes, each as aligned as it can be, on the BAR's
// model; the MSI-X table reads as all ones and drops writes; nothing while memory decoding is
// off (EIO). Each access is an R or W event at the BAR's physical address.
ssize_t VfioFiles::bar_transfer(Shim& shim, Function& function, unsigned bar, uint8_t* bytes,
                                size_t size, uint64_t position, bool write, uintptr_t pc) {
  const devices::PciAttachment& attachment = function.files->attachment;
  uint64_t region = bar == attachment.bar ? attachment.layout.size : 0;  // others: no BAR
  std::array<uint8_t, devices::kPciConfigSize> config;
  size_t config_size = 0;
  if (!pci_->config_contents(*function.files, &config, &config_size)) {
    errno = EIO;
    return -1;
  }
  if (region == 0 || position >= region) {
    errno = EINVAL;
    return -1;
  }
  size = static_cast<size_t>(std::min<uint64_t>(size, region - position));
  uint64_t excluded_begin = 0;
  uint64_t excluded_end = 0;
  Capabilities caps = find_capabilities(config);
  if (caps.msix != 0 && (read32(config, caps.msix + 4) & 7) == attachment.bar) {
    excluded_begin = read32(config, caps.msix + 4) & ~uint64_t{7};
    excluded_end = excluded_begin + ((read16(config, caps.msix + 2) & 0x7ff) + 1u) * 16;
  }
  {
    std::lock_guard shim_lock(shim.mutex);
    if (!shim.devices.ready(*function.bar)) {
      errno = EIO;
      return -1;
    }
    if (function.map_id == 0) {
      // The BAR's first access through the descriptor: a mapping of the whole BAR in the trace,
      // which a replay serves as it serves a mapped one.
      function.window = shim.devices.open_window(*function.bar);
      if (function.bar->script != nullptr && function.window.replay_map == nullptr) {
        errno = EIO;  // the recorded program never reached this BAR so
        return -1;
      }
      function.backend = shim.devices.make_backend(function.window, 0);
      trace::Event map;
      map.kind = trace::EventKind::Map;
      map.time_ns = monotonic_ns();
      map.map_id = recorder::next_map_id();
      map.phys = shim.devices.physical_address(function.window, 0);
      map.length = region;
      map.pc = pc;
      map.pid = recorder::current_pid();
      map.tid = recorder::current_tid();
      shim.recorder.sink().write(map);
      const DeviceFile& file = *function.bar;
      std::string line = trace::format_device_marker(
          {file.model + (file.arguments.empty() ? "" : ":" + file.arguments) + "@" + file.path,
           map.map_id});
      shim.recorder.mark(line.data(), line.size());
      function.map_id = map.map_id;
    }
  }
  size_t done = 0;
  while (done < size) {
    uint64_t at = position + done;
    size_t left = size - done;
    size_t fillable = at < excluded_begin  ? std::min<uint64_t>(left, excluded_begin - at)
                      : at >= excluded_end ? left
                                           : 0;
    if (fillable == 0) {
      size_t skipped = static_cast<size_t>(std::min<uint64_t>(left, excluded_end - at));
      if (!write) memset(bytes + done, 0xff, skipped);
      done += skipped;
      continue;
    }
    size_t width = fillable >= 4 && at % 4 == 0 ? 4 : fillable >= 2 && at % 2 == 0 ? 2 : 1;
    // Memory decoding is read from the command register before each access, as the kernel
    // checks it under its memory lock.
    uint16_t command = 0;
    if (pci_->config_contents(*function.files, &config, &config_size)) command = read16(config, 4);
    if ((command & kCommandMemory) == 0) {
      if (done > 0) break;
      errno = EIO;
      return -1;
    }
    with_signals_blocked([&] {
      if (write) {
        function.backend->write(at, width, bytes + done);
      } else {
        function.backend->read(at, width, bytes + done);
      }
    });
    trace::Event access;
    access.kind = write ? trace::EventKind::Write : trace::EventKind::Read;
    access.time_ns = monotonic_ns();
    access.map_id = function.map_id;
    access.width = static_cast<uint8_t>(width);
    access.phys = shim.devices.physical_address(function.window, at);
    access.pc = pc;
    access.pid = recorder::current_pid();
    access.tid = recorder::current_tid();
    memcpy(access.value, bytes + done, width);
    shim.recorder.sink().write(access);
    done += width;
  }
  return static_cast<ssize_t>(done);
}

void* VfioFiles::map(int fd, uintptr_t address, size_t length, int prot, int flags, off_t offset,
                     uintptr_t pc) {
  size_t index;
  {
    std::lock_guard guard(lock_);
    Descriptor* descriptor = descriptor_of(fd);
    if (descriptor == nullptr) {
      errno = EBADF;
      return MAP_FAILED;
    }
    if (descriptor->kind != Kind::Device) {
      errno = ENODEV;  // containers and groups cannot be mapped
      return MAP_FAILED;
    }
    index = descriptor->function;
  }
  const Function& function = functions_[index];
  const devices::PciAttachment& attachment = function.files->attachment;
  auto region = static_cast<uint64_t>(offset) >> kRegionShift;
  uint64_t within = static_cast<uint64_t>(offset) & kRegionMask;
  int type = flags & MAP_TYPE;
  // vfio_pci_core_mmap(): shared mappings of a BAR that can be mapped, inside it.
  if (offset < 0 || region >= kRegionCount || (type != MAP_SHARED && type != MAP_SHARED_VALIDATE) ||
      region >= VFIO_PCI_ROM_REGION_INDEX || region != attachment.bar ||
      within + page_ceil(length) > page_ceil(attachment.layout.size)) {
    errno = EINVAL;
    return MAP_FAILED;
  }
  return map_device(*function.bar, address, length, prot, flags, static_cast<off_t>(within), pc);
}

}  // namespace mmiotrace::preload
