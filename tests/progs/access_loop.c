/* Writes ITERATIONS values to the registers of a traced file, reading each back, then says how
 * many it checked and exits with STATUS: a program whose accesses fill a trace, for the tests of
 * traces that cannot be written in full (the program must run to its end all the same).
 * Usage: access_loop DIR ITERATIONS STATUS */
#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  uint32_t iterations = (uint32_t)strtoul(argv[2], NULL, 0);
  for (uint32_t i = 0; i < iterations; ++i) {
    volatile uint8_t* reg = regs + 4 * (i % 1024);
    store32(reg, i);
    uint32_t back = load32(reg);
    if (back != i) {
      printf("read back %u after writing %u\n", back, i);
      return 5;
    }
  }
  printf("checked %u\n", iterations);
  return atoi(argv[3]);
}
