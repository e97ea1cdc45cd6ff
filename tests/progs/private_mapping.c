/* A private mapping of a traced file has no second mapping to emulate on: mmiotrace says so on
 * stderr and in the trace, and single-steps its accesses, which still run correctly. */
#include <inttypes.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char path[4096];
  snprintf(path, sizeof(path), "%s/device.reg", argv[1]);
  volatile uint8_t* shared = map_register_file(argv[1], "device.reg", 4096, 0);
  munmap((void*)shared, 4096);
  int fd = open(path, O_RDWR);
  volatile uint8_t* regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  store32(regs + 0x10, 0xfeedface);
  uint32_t value = load32(regs + 0x10);
  printf("%08" PRIx32 "\n", value);
  munmap((void*)regs, 4096);
  return 0;
}
