/* Markers from the traced program: through the API (mmiotrace_mark, found at run time so that
 * the program also runs untraced), through the path in $MMIOTRACE_MARKER, and through the
 * descriptor in $MMIOTRACE_MARKER_FD; then it waits for a marker from outside (the test runs
 * `mmiotrace mark` when the file "ready" appears, and creates "go" when it is done). A marker
 * longer than a trace holds (4000 bytes), through the API and the descriptor, is left out whole,
 * never cut. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <time.h>

#include "prog_support.h"

static void pause_briefly(void) {
  struct timespec pause = {0, 150 * 1000 * 1000};
  nanosleep(&pause, NULL);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  store32(regs, 1);
  int (*mark)(const char*) = NULL;
  void* symbol = dlsym(RTLD_DEFAULT, "mmiotrace_mark");
  memcpy(&mark, &symbol, sizeof(mark)); /* POSIX guarantees this conversion */
  char too_long[5001];
  memset(too_long, 'x', sizeof(too_long) - 1);
  too_long[sizeof(too_long) - 1] = '\0';
  if (mark && mark(too_long) != -E2BIG) return 4;
  if (mark) mark("from the API");
  pause_briefly();
  const char* path = getenv("MMIOTRACE_MARKER");
  if (path) {
    FILE* marker = fopen(path, "w");
    if (marker) {
      fputs("through the path\n", marker);
      fclose(marker);
    }
  }
  pause_briefly();
  const char* fd_text = getenv("MMIOTRACE_MARKER_FD");
  if (fd_text) {
    const char line[] = "through the descriptor\n";
    too_long[sizeof(too_long) - 2] = '\n';
    if (write(atoi(fd_text), too_long, sizeof(too_long) - 1) < 0) return 3;
    if (write(atoi(fd_text), line, sizeof(line) - 1) < 0) return 3;
  }
  pause_briefly();
  store32(regs, 2);
  char ready[4096], go[4096];
  snprintf(ready, sizeof(ready), "%s/ready", argv[1]);
  snprintf(go, sizeof(go), "%s/go", argv[1]);
  FILE* file = fopen(ready, "w");
  fprintf(file, "%d\n", getpid());
  fclose(file);
  for (int i = 0; i < 500 && access(go, F_OK) != 0; ++i) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  pause_briefly();
  store32(regs, 3);
  puts("EXIT-SUCCESS");
  return 0;
}
