/* Tracing starts before the program's own constructors: a mapping one of them makes is
 * traced. */
#include "prog_support.h"

static volatile uint8_t* early;

__attribute__((constructor)) static void map_early(void) {
  early = map_register_file(".", "early.reg", 4096, 0); /* in the working directory */
  store32(early, 0xc0);
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  store32(early + 4, 0xc1);
  printf("%08x\n", load32(early));
  puts("EXIT-SUCCESS");
  return 0;
}
