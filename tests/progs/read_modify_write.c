/* Read-modify-write instructions on a traced register file: ADD and LOCK XADD. Emulated, each is
 * one read then one write, with their values; single-stepped, the tracer cannot tell their
 * values and records them as UNKNOWN with their first three bytes. Either way they run
 * correctly (the results are printed). */
#include <inttypes.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  store32(regs + 0x40, 40);
  /* Fixed registers, so that the instruction bytes in the expected trace are these. */
  __asm__ volatile("addl $2, (%0)" ::"D"(regs + 0x40) : "memory", "cc");
  uint32_t old = 100;
  __asm__ volatile("lock xaddl %0, (%1)" : "+a"(old) : "D"(regs + 0x40) : "memory", "cc");
  uint32_t now = load32(regs + 0x40);
  printf("before xadd %" PRIu32 ", after %" PRIu32 "\n", old, now);
  munmap((void*)regs, 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
