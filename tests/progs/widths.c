/* Accesses of 1, 2, 4 and 8 bytes to a traced register file: aligned, unaligned, and straddling
 * the boundary between its two pages. Values read are printed, so that the traced and the
 * untraced runs can be compared too. */
#include <inttypes.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 8192, 0);

  /* Reads of the initial content. */
  uint8_t r8 = load8(regs + 0x10);
  uint16_t r16 = load16(regs + 0x10);
  uint32_t r32 = load32(regs + 0x10);
  uint64_t r64 = load64(regs + 0x10);
  printf("%02" PRIx8 " %04" PRIx16 " %08" PRIx32 " %016" PRIx64 "\n", r8, r16, r32, r64);

  /* Aligned writes, read back. */
  store8(regs + 0x20, 0x5a);
  store16(regs + 0x22, 0xbeef);
  store32(regs + 0x24, 0xdeadbeef);
  store64(regs + 0x28, 0x0123456789abcdefull);
  r8 = load8(regs + 0x20);
  r16 = load16(regs + 0x22);
  r32 = load32(regs + 0x24);
  r64 = load64(regs + 0x28);
  printf("%02" PRIx8 " %04" PRIx16 " %08" PRIx32 " %016" PRIx64 "\n", r8, r16, r32, r64);

  /* Unaligned. */
  store16(regs + 0x31, 0x1122);
  store32(regs + 0x33, 0x33445566);
  store64(regs + 0x37, 0x778899aabbccddeeull);
  r16 = load16(regs + 0x31);
  r32 = load32(regs + 0x33);
  r64 = load64(regs + 0x37);
  printf("%04" PRIx16 " %08" PRIx32 " %016" PRIx64 "\n", r16, r32, r64);

  /* Straddling the two pages. */
  store16(regs + 0xfff, 0xa1a2);
  store32(regs + 0xffe, 0xb1b2b3b4);
  store64(regs + 0xffc, 0xc1c2c3c4c5c6c7c8ull);
  r64 = load64(regs + 0xffc);
  printf("%016" PRIx64 "\n", r64);

  munmap((void*)regs, 8192);
  puts("EXIT-SUCCESS");
  return 0;
}
