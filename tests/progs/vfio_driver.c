/* A user-space driver that reaches its PCI functions through VFIO, as DPDK and QEMU do: the
 * container, API version and type1 extension; each function's IOMMU group (found in sysfs),
 * its status, the container and the IOMMU; the device descriptor, its info, its config and BAR0
 * regions; config space read and written with pread/pwrite; BAR0 mapped, and also read and
 * written with pread/pwrite at the region's offset (refused while memory decoding is off); a
 * DMA mapping made and undone; interrupt info and settings, a reset, a copy of the device
 * descriptor; and requests the kernel refuses. Run by tests/e2e/vfio_test.cpp under `mmiotrace
 * record --pci MODEL:driver=vfio-pci@BDF` for two functions: `vfio_driver BDF BDF`. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "prog_support.h"

static int group_of(const char* bdf) {
  char link[256];
  char target[256];
  snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
  ssize_t length = readlink(link, target, sizeof(target) - 1);
  if (length <= 0) return -1;
  target[length] = '\0';
  return atoi(strrchr(target, '/') + 1);
}

static const char* result(int value) {
  static char text[64];
  if (value < 0) return strerror(errno);
  snprintf(text, sizeof(text), "%d", value);
  return text;
}

/* Opens BDF's group, joins `container` (setting the IOMMU when `first`) and returns the device
 * descriptor. */
static int open_device(int container, const char* bdf, int first) {
  char path[64];
  snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(bdf));
  int group = open(path, O_RDWR);
  if (group < 0) {
    printf("open %s: %s\n", path, strerror(errno));
    exit(3);
  }
  if (first) {
    printf("second open of the group: %s\n", result(open(path, O_RDWR)));
    printf("device before a container: %s\n", result(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf)));
    printf("set IOMMU before a group: %s\n",
           result(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)));
  }
  struct vfio_group_status status = {.argsz = sizeof(status)};
  ioctl(group, VFIO_GROUP_GET_STATUS, &status);
  printf("group viable: %s\n", status.flags & VFIO_GROUP_FLAGS_VIABLE ? "yes" : "no");
  printf("set container: %s\n", result(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)));
  ioctl(group, VFIO_GROUP_GET_STATUS, &status);
  printf("container set: %s\n", status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET ? "yes" : "no");
  if (first) {
    printf("device before the IOMMU: %s\n", result(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf)));
    printf("set IOMMU: %s\n", result(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)));
  }
  printf("no such device: %s\n", result(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:00.7")));
  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
  if (device < 0) {
    printf("device %s: %s\n", bdf, strerror(errno));
    exit(4);
  }
  return device;
}

static struct vfio_region_info region(int device, unsigned index) {
  struct vfio_region_info info = {.argsz = sizeof(info), .index = index};
  if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info) != 0) {
    printf("region %u: %s\n", index, strerror(errno));
    exit(5);
  }
  return info;
}

/* What one device answers: identity, regions, registers by mmap and by pread/pwrite. */
static void drive(int device, uint32_t value) {
  struct vfio_device_info info = {.argsz = sizeof(info)};
  ioctl(device, VFIO_DEVICE_GET_INFO, &info);
  printf("device: pci %s, reset %s, %u regions, %u irqs\n",
         info.flags & VFIO_DEVICE_FLAGS_PCI ? "yes" : "no",
         info.flags & VFIO_DEVICE_FLAGS_RESET ? "yes" : "no", info.num_regions, info.num_irqs);
  struct vfio_region_info config = region(device, VFIO_PCI_CONFIG_REGION_INDEX);
  struct vfio_region_info bar = region(device, VFIO_PCI_BAR0_REGION_INDEX);
  printf("config: size %llu offset 0x%llx flags %x\n", (unsigned long long)config.size,
         (unsigned long long)config.offset, config.flags);
  printf("bar0: size %llu offset 0x%llx flags %x\n", (unsigned long long)bar.size,
         (unsigned long long)bar.offset, bar.flags);
  printf("bar1: size %llu\n", (unsigned long long)region(device, 1).size);
  uint16_t ids[2];
  if (pread(device, ids, 4, (off_t)config.offset) != 4) exit(6);
  printf("vendor %04x device %04x\n", ids[0], ids[1]);
  uint8_t revision = 0xee;
  uint8_t class_code[3] = {0};
  struct iovec parts[2] = {{&revision, 1}, {class_code, 3}};
  ssize_t got = preadv(device, parts, 2, (off_t)config.offset + 8);
  printf("preadv: %zd revision %02x class %02x%02x%02x\n", got, revision, class_code[2],
         class_code[1], class_code[0]);
  uint16_t command = 0;
  pread(device, &command, 2, (off_t)config.offset + 4);
  printf("memory decoding: %s\n", command & 2 ? "on" : "off");
  volatile uint8_t* registers =
      mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, (off_t)bar.offset);
  if (registers == MAP_FAILED) {
    printf("mmap: %s\n", strerror(errno));
    exit(7);
  }
  store32(registers + 0x10, value);
  uint32_t read_back = 0;
  got = pread(device, &read_back, 4, (off_t)(bar.offset + 0x10));
  printf("pread after a store: %zd %08x\n", got, read_back);
  uint32_t written = value ^ 0xffffffff;
  printf("pwrite: %zd\n", pwrite(device, &written, 4, (off_t)(bar.offset + 0x20)));
  printf("load after a pwrite: %08x\n", load32(registers + 0x20));
  printf("private mapping: %s\n",
         mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, device, (off_t)bar.offset) == MAP_FAILED
             ? strerror(errno)
             : "mapped");
  uint16_t off = (uint16_t)(command & ~2);
  pwrite(device, &off, 2, (off_t)config.offset + 4);
  got = pread(device, &read_back, 4, (off_t)bar.offset);
  printf("pread with decoding off: %zd %s\n", got, strerror(errno));
  printf("config pwrite: %zd\n", pwrite(device, &command, 2, (off_t)config.offset + 4));
  got = pread(device, &read_back, 4, (off_t)(bar.offset + bar.size));
  printf("past the BAR: %zd %s\n", got, strerror(errno));
  munmap((void*)registers, bar.size);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int container = open("/dev/vfio/vfio", O_RDWR);
  if (container < 0) {
    printf("open /dev/vfio/vfio: %s\n", strerror(errno));
    return 3;
  }
  printf("api version: %d\n", ioctl(container, VFIO_GET_API_VERSION));
  printf("type1v2: %d\n", ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
  printf("noiommu: %d\n", ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
  int first = open_device(container, argv[1], 1);

  struct {
    struct vfio_iommu_type1_info info;
    uint8_t caps[256];
  } iommu = {.info.argsz = sizeof(iommu)};
  printf("iommu info: %s", result(ioctl(container, VFIO_IOMMU_GET_INFO, &iommu)));
  printf(", page sizes %llx", (unsigned long long)iommu.info.iova_pgsizes);
  for (uint32_t at = iommu.info.cap_offset; at != 0;) {
    struct vfio_info_cap_header* header = (struct vfio_info_cap_header*)((uint8_t*)&iommu + at);
    if (header->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      struct vfio_iommu_type1_info_cap_iova_range* ranges = (void*)header;
      printf(", %u iova ranges from %llx", ranges->nr_iovas,
             (unsigned long long)ranges->iova_ranges[0].start);
    }
    at = header->next;
  }
  printf("\n");

  drive(first, 0xcafe0001);
  printf("bad argsz: %s\n",
         result(ioctl(first, VFIO_DEVICE_GET_REGION_INFO, &(struct vfio_region_info){.argsz = 4})));
  printf("unknown request: %s\n", result(ioctl(first, _IO(VFIO_TYPE, VFIO_BASE + 60))));
  printf("unknown request again: %s\n", result(ioctl(first, _IO(VFIO_TYPE, VFIO_BASE + 60))));
  struct vfio_irq_info irq = {.argsz = sizeof(irq), .index = VFIO_PCI_MSIX_IRQ_INDEX};
  ioctl(first, VFIO_DEVICE_GET_IRQ_INFO, &irq);
  printf("msi-x vectors: %u\n", irq.count);
  struct vfio_irq_set irqs = {.argsz = sizeof(irqs),
                              .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
                              .index = VFIO_PCI_REQ_IRQ_INDEX,
                              .count = 1};
  printf("trigger the request interrupt: %s\n", result(ioctl(first, VFIO_DEVICE_SET_IRQS, &irqs)));
  irqs.index = VFIO_PCI_MSIX_IRQ_INDEX;
  printf("trigger an msi-x vector: %s\n", result(ioctl(first, VFIO_DEVICE_SET_IRQS, &irqs)));
  printf("reset: %s\n", result(ioctl(first, VFIO_DEVICE_RESET)));
  int copy = fcntl(first, F_DUPFD_CLOEXEC, 100);
  uint16_t vendor = 0;
  ssize_t got = pread(copy, &vendor, 2, (off_t)VFIO_PCI_CONFIG_REGION_INDEX << 40);
  struct vfio_device_info info = {.argsz = sizeof(info)};
  int answer = ioctl(copy, VFIO_DEVICE_GET_INFO, &info);
  printf("a copy of the descriptor: %zd vendor %04x, %s %u regions\n", got, vendor, result(answer),
         info.num_regions);
  close(copy);

  void* memory = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map),
                                         .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         .vaddr = (uintptr_t)memory,
                                         .iova = 0x100000,
                                         .size = 8192};
  printf("dma map: %s\n", result(ioctl(container, VFIO_IOMMU_MAP_DMA, &map)));
  printf("dma map again: %s\n", result(ioctl(container, VFIO_IOMMU_MAP_DMA, &map)));
  struct vfio_iommu_type1_dma_unmap unmap = {
      .argsz = sizeof(unmap), .iova = 0x100000, .size = 4096};
  printf("dma unmap half: %s\n", result(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)));
  unmap.size = 8192;
  printf("dma unmap: %s, %llu bytes\n", result(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)),
         (unsigned long long)unmap.size);

  int second = open_device(container, argv[2], 0);
  drive(second, 0xbeef0002);
  close(second);
  close(first);
  close(container);
  puts("EXIT-SUCCESS");
  return 0;
}
