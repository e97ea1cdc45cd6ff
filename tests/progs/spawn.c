/* Processes started by posix_spawn(), system() and vfork() + exec are traced, each under its
 * own PID in the same trace. */
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "prog_support.h"

extern char** environ;

static int child(const char* directory, const char* name, uint32_t value) {
  volatile uint8_t* regs = map_register_file(directory, name, 4096, 0);
  store32(regs, value);
  return 0;
}

static void wait_for(pid_t pid, const char* how) {
  int status = 0;
  waitpid(pid, &status, 0);
  printf("%s: %s\n", how, WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
}

int main(int argc, char** argv) {
  if (argc == 4) return child(argv[1], argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
  if (argc != 2) return 2;
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) return 3;
  self[length] = '\0';

  pid_t pid;
  char* spawn_argv[] = {self, argv[1], "spawned.reg", "1", NULL};
  if (posix_spawn(&pid, self, NULL, NULL, spawn_argv, environ) != 0) return 4;
  wait_for(pid, "posix_spawn");

  char command[8192];
  snprintf(command, sizeof(command), "'%s' '%s' system.reg 2", self, argv[1]);
  fflush(stdout);
  printf("system: %s\n", system(command) == 0 ? "ok" : "failed");

  fflush(stdout);
  pid = vfork();
  if (pid == 0) {
    execl(self, self, argv[1], "vforked.reg", "3", (char*)NULL);
    _exit(127);
  }
  wait_for(pid, "vfork");
  puts("EXIT-SUCCESS");
  return 0;
}
