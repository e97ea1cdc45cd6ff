/* A statically linked program, which `mmiotrace record` must refuse: LD_PRELOAD cannot reach
 * it. */
#include <stdio.h>

int main(void) {
  puts("static");
  return 0;
}
