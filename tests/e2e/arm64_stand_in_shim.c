// Stands in, in the tests, for the AArch64 shim library that does not exist yet: an AArch64
// shared object with mmiotrace's version note (src/preload/version_note.S) whose constructor
// says, on stderr, that it was preloaded into the program qemu-aarch64 runs, and with which
// LD_PRELOAD. It traces nothing.
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void say_loaded(void) {
  const char* preload = getenv("LD_PRELOAD");
  fprintf(stderr, "stand-in AArch64 shim loaded, LD_PRELOAD=%s\n", preload ? preload : "");
}
