/* nvme_init: a small user-space NVMe initialization driver. It maps BAR0 of a controller from a
 * path (a PCI resource file, or a virtual device under `mmiotrace record --device nvme@PATH`),
 * decodes CAP and VS, then does the NVMe 1.4 initialization sequence (section 7.6.1): disable
 * the controller if it is enabled and wait for CSTS.RDY = 0, program the admin queue, enable
 * and wait for CSTS.RDY = 1 (or CSTS.CFS), and shut the controller down cleanly.
 *
 * usage: nvme_init [--abrupt] PATH
 * --abrupt shuts the controller down abruptly (CC.SHN = 10b) instead of normally. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
  BAR_SIZE = 0x4000,
  REG_CAP = 0x00, /* 64-bit */
  REG_VS = 0x08,
  REG_CC = 0x14,
  REG_CSTS = 0x1c,
  REG_AQA = 0x24,
  REG_ASQ = 0x28, /* 64-bit */
  REG_ACQ = 0x30, /* 64-bit */

  CC_EN = 1u << 0,
  CC_MPS_SHIFT = 7,
  CC_SHN_NORMAL = 1u << 14,
  CC_SHN_ABRUPT = 2u << 14,
  CC_IOSQES_SHIFT = 16,
  CC_IOCQES_SHIFT = 20,

  CSTS_RDY = 1u << 0,
  CSTS_CFS = 1u << 1,
  CSTS_SHST_MASK = 3u << 2,
  CSTS_SHST_COMPLETE = 2u << 2,

  ADMIN_QUEUE_ENTRIES = 32,
  MIN_TIMEOUT_MS = 500,       /* when CAP.TO is 0 */
  SHUTDOWN_TIMEOUT_MS = 5000, /* Linux's default when RTD3E is unknown (it is read by Identify) */
  POLL_INTERVAL_NS = 1000000,
};

static volatile uint8_t* bar;

static inline uint32_t read32(unsigned offset) {
  return *(volatile uint32_t*)(bar + offset);
}
static inline void write32(unsigned offset, uint32_t value) {
  *(volatile uint32_t*)(bar + offset) = value;
}
static inline uint64_t read64(unsigned offset) {
  return *(volatile uint64_t*)(bar + offset);
}
static inline void write64(unsigned offset, uint64_t value) {
  *(volatile uint64_t*)(bar + offset) = value;
}

static uint64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Polls CSTS until (CSTS & mask) == expected, or CSTS.CFS when `stop_on_fatal`. Returns the last
 * CSTS, or exits with a message after `timeout_ms`. */
static uint32_t wait_for_status(uint32_t mask, uint32_t expected, int stop_on_fatal,
                                uint64_t timeout_ms, const char* what) {
  uint64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    uint32_t csts = read32(REG_CSTS);
    if (csts == 0xffffffff) {
      fprintf(stderr, "nvme_init: CSTS reads 0xffffffff: the controller is gone\n");
      exit(1);
    }
    if ((csts & mask) == expected || (stop_on_fatal && (csts & CSTS_CFS))) return csts;
    if (now_ms() >= deadline) {
      fprintf(stderr,
              "nvme_init: timed out after %" PRIu64 " ms waiting for %s (CSTS 0x%08" PRIx32 ")\n",
              timeout_ms, what, csts);
      exit(1);
    }
    struct timespec pause = {0, POLL_INTERVAL_NS};
    nanosleep(&pause, NULL);
  }
}

int main(int argc, char** argv) {
  int abrupt = argc == 3 && strcmp(argv[1], "--abrupt") == 0;
  if (argc != 2 + abrupt) {
    fprintf(stderr, "usage: nvme_init [--abrupt] PATH\n");
    return 2;
  }
  const char* path = argv[1 + abrupt];
  int fd = open(path, O_RDWR | O_SYNC);
  if (fd < 0) {
    fprintf(stderr, "nvme_init: cannot open %s: %s\n", path, strerror(errno));
    return 1;
  }
  struct stat status;
  if (fstat(fd, &status) != 0) {
    fprintf(stderr, "nvme_init: cannot stat %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (S_ISREG(status.st_mode) && status.st_size < BAR_SIZE) {
    fprintf(stderr, "nvme_init: %s has %lld bytes, fewer than BAR0's 0x%x\n", path,
            (long long)status.st_size, BAR_SIZE);
    return 1;
  }
  void* mapping = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) {
    fprintf(stderr, "nvme_init: cannot map %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  bar = mapping;

  uint64_t cap = read64(REG_CAP);
  unsigned mqes = (unsigned)(cap & 0xffff) + 1;
  unsigned timeout_units = (unsigned)(cap >> 24 & 0xff);
  unsigned dstrd = (unsigned)(cap >> 32 & 0xf);
  unsigned mpsmin = (unsigned)(cap >> 48 & 0xf);
  unsigned mpsmax = (unsigned)(cap >> 52 & 0xf);
  printf("CAP 0x%016" PRIx64
         ": MQES %u entries, CQR %u, TO %u ms, DSTRD %u (doorbell stride %u bytes), NSSRS %u, "
         "CSS 0x%02x, MPSMIN %llu, MPSMAX %llu\n",
         cap, mqes, (unsigned)(cap >> 16 & 1), timeout_units * 500, dstrd, 4u << dstrd,
         (unsigned)(cap >> 36 & 1), (unsigned)(cap >> 37 & 0xff), 4096ull << mpsmin,
         4096ull << mpsmax);
  uint32_t vs = read32(REG_VS);
  printf("VS %u.%u.%u\n", vs >> 16, vs >> 8 & 0xff, vs & 0xff);

  /* CAP.TO bounds each wait for CSTS.RDY to change. */
  uint64_t timeout_ms = (uint64_t)timeout_units * 500;
  if (timeout_ms < MIN_TIMEOUT_MS) timeout_ms = MIN_TIMEOUT_MS;

  /* 1. Reset: an enabled controller is disabled first. */
  uint32_t cc = read32(REG_CC);
  if (cc & CC_EN) {
    write32(REG_CC, cc & ~(uint32_t)CC_EN);
    wait_for_status(CSTS_RDY, 0, 0, timeout_ms, "CSTS.RDY = 0");
  }

  /* 2. The admin queue. There is no DMA in user space: these page-aligned physical addresses
   * are made up, and the controller is never given a command. The controller's smallest page
   * size is used. */
  uint64_t page = 4096ull << mpsmin;
  uint64_t asq = 0x100000;
  uint64_t acq = asq + page;
  write32(REG_AQA, (ADMIN_QUEUE_ENTRIES - 1) << 16 | (ADMIN_QUEUE_ENTRIES - 1));
  write64(REG_ASQ, asq);
  write64(REG_ACQ, acq);

  /* 3. Enable: 64-byte submission and 16-byte completion queue entries, the NVM command set,
   * round-robin arbitration. */
  cc = 6u << CC_IOSQES_SHIFT | 4u << CC_IOCQES_SHIFT | mpsmin << CC_MPS_SHIFT | CC_EN;
  write32(REG_CC, cc);
  uint32_t csts = wait_for_status(CSTS_RDY, CSTS_RDY, 1, timeout_ms, "CSTS.RDY = 1");
  if (csts & CSTS_CFS) {
    fprintf(stderr,
            "nvme_init: the controller reports a fatal status (CSTS 0x%08" PRIx32
            ") instead of becoming ready\n",
            csts);
    return 1;
  }
  printf("controller ready\n");

  /* 4. A normal shutdown (or an abrupt one). */
  write32(REG_CC, cc | (abrupt ? CC_SHN_ABRUPT : CC_SHN_NORMAL));
  wait_for_status(CSTS_SHST_MASK, CSTS_SHST_COMPLETE, 0, SHUTDOWN_TIMEOUT_MS,
                  "CSTS.SHST = 10b (shutdown complete)");
  printf("shutdown complete\n");
  munmap(mapping, BAR_SIZE);
  return 0;
}
