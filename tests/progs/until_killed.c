/* Writes 1, 2, 3... to a traced register, and after each write the same number to an untraced
 * progress file, until it is killed: every write it made before the kill must be in the trace. */
#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  volatile uint64_t* progress = (volatile uint64_t*)map_register_file(argv[1], "progress", 4096, 0);
  progress[0] = 0;
  progress[1] = (uint64_t)getpid();
  for (uint64_t i = 1;; ++i) {
    store64(regs + 8 * (i % 64), i);
    progress[0] = i;
  }
}
