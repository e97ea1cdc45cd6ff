/* regpoke: a tiny user-space "driver" for the README demo. It maps a file that stands in for a
 * device's register window (a PCI BAR, say), identifies the device, programs it with accesses
 * of 1, 2, 4 and 8 bytes, and reads back what it wrote. Run it under `mmiotrace record` to see
 * every register access. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The register layout of the imaginary device. */
enum {
  REG_ID = 0x00,       /* 32-bit identification */
  REG_CONTROL = 0x04,  /* 32-bit: bit 0 enable, bit 1 reset */
  REG_MODE = 0x08,     /* 8-bit */
  REG_DIVISOR = 0x0a,  /* 16-bit */
  REG_DMA_ADDR = 0x10, /* 64-bit */
  REG_SCRATCH = 0x100, /* 16 bytes of scratch registers */
  WINDOW_SIZE = 0x1000,
};

static volatile uint8_t* regs;

static uint32_t read32(unsigned offset) {
  return *(volatile uint32_t*)(regs + offset);
}
static void write32(unsigned offset, uint32_t value) {
  *(volatile uint32_t*)(regs + offset) = value;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: regpoke REGISTER-FILE\n");
    return 2;
  }
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) {
    fprintf(stderr, "regpoke: cannot open %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  regs = mmap(NULL, WINDOW_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (regs == MAP_FAILED) {
    fprintf(stderr, "regpoke: cannot map %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  close(fd);

  printf("device id: 0x%08" PRIx32 "\n", read32(REG_ID));
  write32(REG_CONTROL, 0x2); /* reset */
  write32(REG_CONTROL, 0x1); /* enable */
  *(volatile uint8_t*)(regs + REG_MODE) = 0x5a;
  *(volatile uint16_t*)(regs + REG_DIVISOR) = 0x1234;
  *(volatile uint64_t*)(regs + REG_DMA_ADDR) = 0x00000001deadb000ull;
  for (unsigned i = 0; i < 4; ++i)
    write32(REG_SCRATCH + 4 * i, 0x11111111u * (i + 1));

  uint32_t control = read32(REG_CONTROL);
  uint64_t dma = *(volatile uint64_t*)(regs + REG_DMA_ADDR);
  printf("control: 0x%08" PRIx32 ", dma address: 0x%016" PRIx64 "\n", control, dma);
  munmap((void*)regs, WINDOW_SIZE);
  return control == 0x1 && dma == 0x00000001deadb000ull ? 0 : 1;
}
