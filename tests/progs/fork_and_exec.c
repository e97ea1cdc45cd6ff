/* Traced processes beget traced processes: a forked child writes the same trace under its own
 * PID, through the mapping it inherited and one of its own; after exec the new image is traced
 * again. Map ids stay unique across all of them. */
#include <string.h>
#include <sys/wait.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[2], "after-exec") == 0) {
    volatile uint8_t* c = map_register_file(argv[1], "c.reg", 4096, 0);
    store32(c, 5);
    puts("EXIT-SUCCESS");
    return 0;
  }
  if (argc != 2) return 2;
  volatile uint8_t* a = map_register_file(argv[1], "a.reg", 4096, 0);
  store32(a, 1);
  pid_t child = fork();
  if (child == 0) {
    store32(a + 4, 2);
    volatile uint8_t* b = map_register_file(argv[1], "b.reg", 4096, 0);
    store32(b, 3);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  store32(a + 8, 4);
  printf("child %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
  fflush(stdout);
  execl("/proc/self/exe", argv[0], argv[1], "after-exec", (char*)NULL);
  return 1;
}
