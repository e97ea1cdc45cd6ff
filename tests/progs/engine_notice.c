/* An instruction the engine cannot emulate, a jump through traced memory, is single-stepped, and
 * the engine's notice saying so, given from its SIGSEGV handler, reaches the trace as a marker. */
#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char path[4096];
  snprintf(path, sizeof(path), "%s/device.reg", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return 3;
  /* Where the jump goes, in the file before it is mapped (and traced). */
  void* target = __extension__(&&landed);
  if (pwrite(fd, &target, sizeof(target), 0x40) != (ssize_t)sizeof(target)) return 4;
  volatile uint8_t* regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (regs == MAP_FAILED) return 5;
  __asm__ goto("jmp *0x40(%0)" : : "a"(regs) : "memory" : landed);
  puts("not landed");
  return 1;
landed:
  puts("landed");
  munmap((void*)regs, 4096);
  return 0;
}
