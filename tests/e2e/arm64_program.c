// A tiny AArch64 program, cross-compiled, that `record` must run under qemu-aarch64: it prints
// its arguments (argv[0] included, as the command named it) and exits 3.
#include <stdio.h>

int main(int argc, char** argv) {
#if !defined(__aarch64__)
#error "arm64_program is built for AArch64 only"
#endif
  printf("AArch64 program:");
  for (int i = 0; i < argc; ++i)
    printf(" %s", argv[i]);
  printf("\n");
  return 3;
}
