/* Only files matching the trace globs are traced: a .reg file mapped twice (the second time
 * from file offset 0x1000, which stands in for the physical address), and a .bin file that is
 * not traced at all. Ends with a status of its own. */
#include <inttypes.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* first = map_register_file(argv[1], "first.reg", 4096, 0);
  volatile uint8_t* second = map_register_file(argv[1], "second.reg", 4096, 0x1000);
  volatile uint8_t* other = map_register_file(argv[1], "other.bin", 4096, 0);
  store32(first + 0x8, 0x11);
  store32(other + 0x8, 0x22);
  store32(second + 0x8, 0x33);
  uint32_t a = load32(first + 0x8);
  uint32_t b = load32(other + 0x8);
  uint32_t c = load32(second + 0x8);
  printf("%" PRIx32 " %" PRIx32 " %" PRIx32 "\n", a, b, c);
  return 3;
}
