/* A traced mapping unmapped a page at a time: what remains keeps its map id and stays traced;
 * UNMAP comes when its last page goes. */
#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 3 * 4096, 0);
  store8(regs + 0x0001, 1);
  store8(regs + 0x1001, 2);
  store8(regs + 0x2001, 3);
  munmap((void*)(regs + 0x1000), 4096);
  store8(regs + 0x0002, 4);
  store8(regs + 0x2002, 5);
  munmap((void*)regs, 4096);
  store8(regs + 0x2003, 6);
  munmap((void*)(regs + 0x2000), 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
