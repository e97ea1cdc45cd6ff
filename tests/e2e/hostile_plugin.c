/* A shared object that leaves a file behind when it is loaded: its constructor creates the file
 * $HOSTILE_PLUGIN_RAN names. The e2e tests name it in a trace's device marker, which must never
 * make mmiotrace load it (docs/devices.md, "Plugins"). It exports no device model. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void leave_a_mark(void) {
  const char* path = getenv("HOSTILE_PLUGIN_RAN");
  if (path == NULL) return;
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
}
