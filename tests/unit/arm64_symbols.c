/* An AArch64 program that is never run: the symbolizer's test (report_test.cpp) names PCs in
   it from its symbols and line tables, as `report` names those of a program traced under
   qemu-aarch64. */
#include <stdint.h>

void poke_register(volatile uint32_t* registers, uint32_t value) {
  registers[4] = value;
}

int main(void) {
  return 0;
}
