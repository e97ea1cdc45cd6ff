/* The program's mprotect(), mlock(), munlock(), madvise() and msync() on traced memory behave
 * as they do untraced: a page made read-only refuses writes (the program's own SIGSEGV handler
 * sees them) and stays traced; locking and syncing succeed; a read-only file cannot be made
 * writable. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>

#include "prog_support.h"

static sigjmp_buf recovery;

static void on_segv(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  static const char message[] = "write refused\n";
  if (write(1, message, sizeof(message) - 1) < 0) _exit(3);
  if (info->si_code != SEGV_ACCERR) _exit(4);
  siglongjmp(recovery, 1);
}

static void report(const char* what, int result) {
  printf("%s: %d %s\n", what, result, result == 0 ? "" : strerror(errno));
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct sigaction action = {0};
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, NULL);
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 2 * 4096, 0);

  report("mprotect read-only", mprotect((void*)regs, 4096, PROT_READ));
  printf("read %08x\n", load32(regs + 0x10));
  if (sigsetjmp(recovery, 1) == 0) store32(regs + 0x10, 0x11111111);
  store32(regs + 0x1010, 0x22222222); /* the second page is still writable */
  report("mprotect read-write", mprotect((void*)regs, 2 * 4096, PROT_READ | PROT_WRITE));
  store32(regs + 0x10, 0x33333333);

  report("mlock", mlock((const void*)regs, 2 * 4096));
  report("munlock", munlock((const void*)regs, 2 * 4096));
  report("madvise", madvise((void*)regs, 2 * 4096, MADV_WILLNEED));
  report("msync", msync((void*)regs, 2 * 4096, MS_SYNC));
  printf("read %08x %08x\n", load32(regs + 0x10), load32(regs + 0x1010));

  /* A file open read-only, mapped read-only: it cannot be made writable. */
  char path[4096];
  snprintf(path, sizeof(path), "%s/device.reg", argv[1]);
  int fd = open(path, O_RDONLY);
  volatile uint8_t* rom = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (rom == MAP_FAILED) return 5;
  close(fd);
  report("mprotect writable", mprotect((void*)rom, 4096, PROT_READ | PROT_WRITE));
  printf("rom %08x\n", load32(rom + 0x10));
  munmap((void*)rom, 4096);
  munmap((void*)regs, 2 * 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
