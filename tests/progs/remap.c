/* mremap() of a traced mapping, grown, shrunk and moved: it ends (UNMAP) and is traced again
 * where it now is (MAP, at the same physical address), with the same content. MAP_FIXED over
 * a traced mapping ends the part it replaces. */
#define _GNU_SOURCE
#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4 * 4096, 0);
  munmap((void*)(regs + 0x2000), 2 * 4096); /* two pages left, two more in the file */
  store8(regs + 0x1000, 0xa1);

  /* Grown to three pages, wherever it fits. */
  volatile uint8_t* grown = mremap((void*)regs, 2 * 4096, 3 * 4096, MREMAP_MAYMOVE);
  if (grown == MAP_FAILED) return 3;
  printf("grown: %02x %02x %02x\n", load8(grown), load8(grown + 0x1000), load8(grown + 0x2001));
  store8(grown + 0x2002, 0xa2);

  /* Shrunk to one page, in place. */
  volatile uint8_t* shrunk = mremap((void*)grown, 3 * 4096, 4096, 0);
  if (shrunk != grown) return 4;
  store8(shrunk + 3, 0xa3);

  /* Moved to a place of our choosing. */
  void* place = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  volatile uint8_t* moved = mremap((void*)shrunk, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, place);
  if (moved != place) return 5;
  printf("moved: %02x\n", load8(moved + 3));

  /* Replaced by anonymous memory: no longer traced. */
  volatile uint8_t* anonymous = mmap((void*)moved, 4096, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (anonymous != moved) return 6;
  store8(anonymous, 0x55);
  printf("anonymous: %02x\n", load8(anonymous));
  munmap((void*)anonymous, 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
