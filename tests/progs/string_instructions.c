/* REP STOS and REP MOVS on a traced register file: one access per element, each with its
 * value, forwards and backwards, from untraced memory, from traced memory, and to untraced
 * memory. The trace with the emulator (which writes runs of elements in bulk) must be the one
 * single-stepping gives. */
#include <inttypes.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  volatile uint8_t* destination = regs + 0x100;
  uint64_t count = 3;
  __asm__ volatile("rep stosb" : "+D"(destination), "+c"(count) : "a"(0xab) : "memory");
  destination = regs + 0x108;
  count = 2;
  __asm__ volatile("rep stosq"
                   : "+D"(destination), "+c"(count)
                   : "a"(0x1122334455667788ull)
                   : "memory");
  uint64_t check = load64(regs + 0x100);
  printf("%016" PRIx64 "\n", check);

  /* Backwards: 0x204, 0x203, ... 0x200. */
  destination = regs + 0x204;
  count = 5;
  __asm__ volatile("std\n\trep stosb\n\tcld"
                   : "+D"(destination), "+c"(count)
                   : "a"(0x5e)
                   : "memory");

  /* From the program's memory: bytes, then quadwords, then doublewords backwards. */
  uint8_t bytes[7] = {1, 2, 3, 4, 5, 6, 7};
  const uint8_t* source = bytes;
  destination = regs + 0x301;
  count = sizeof(bytes);
  __asm__ volatile("rep movsb" : "+S"(source), "+D"(destination), "+c"(count) : : "memory");
  uint64_t quads[3] = {0xa1a2a3a4a5a6a7a8ull, 0xb1b2b3b4b5b6b7b8ull, 0xc1c2c3c4c5c6c7c8ull};
  source = (const uint8_t*)quads;
  destination = regs + 0x310;
  count = 3;
  __asm__ volatile("rep movsq" : "+S"(source), "+D"(destination), "+c"(count) : : "memory");
  uint32_t doubles[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
  source = (const uint8_t*)&doubles[3];
  destination = regs + 0x33c;
  count = 4;
  __asm__ volatile("std\n\trep movsl\n\tcld"
                   : "+S"(source), "+D"(destination), "+c"(count)
                   :
                   : "memory");

  /* Traced to traced (each element read, then written), and traced to the program's memory. */
  const volatile uint8_t* traced_source = regs + 0x301;
  destination = regs + 0x401;
  count = 5;
  __asm__ volatile("rep movsb" : "+S"(traced_source), "+D"(destination), "+c"(count) : : "memory");
  uint64_t copy[2] = {0, 0};
  traced_source = regs + 0x310;
  uint8_t* plain = (uint8_t*)copy;
  count = 2;
  __asm__ volatile("rep movsq" : "+S"(traced_source), "+D"(plain), "+c"(count) : : "memory");

  printf("%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "\n", load64(regs + 0x200),
         load64(regs + 0x300), load64(regs + 0x338), load64(regs + 0x400));
  printf("%016" PRIx64 " %016" PRIx64 "\n", copy[0], copy[1]);
  return 0;
}
