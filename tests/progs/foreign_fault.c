/* A program that makes traced accesses, then crashes on memory of its own: under the tracer it
 * must die the same way, with the same signal and core dump. */
#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  store16(regs + 2, 0x1234);
  volatile uint32_t* read_only = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  puts("about to crash");
  fflush(stdout);
  *read_only = 1;
  puts("not reached");
  return 0;
}
