/* REP STOS on a traced register file: one access per element, each with its value. */
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
  __asm__ volatile("rep stosq" : "+D"(destination), "+c"(count) : "a"(0x1122334455667788ull) : "memory");
  uint64_t check = load64(regs + 0x100);
  printf("%016" PRIx64 "\n", check);
  return 0;
}
