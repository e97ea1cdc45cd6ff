/* A program with its own SIGSEGV and SIGTRAP handlers, installed after it mapped a traced file:
 * its own faults still reach them, and traced accesses go on being traced. */
#include <setjmp.h>
#include <signal.h>

#include "prog_support.h"

static sigjmp_buf recovery;
static volatile int traps;

static void on_segv(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  static const char message[] = "caught SIGSEGV\n";
  if (write(1, message, sizeof(message) - 1) < 0) _exit(3);
  if (info->si_code != SEGV_ACCERR) _exit(4);
  siglongjmp(recovery, 1);
}

static void on_trap(int signo) {
  (void)signo;
  ++traps;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  struct sigaction action = {0};
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, NULL);
  signal(SIGTRAP, on_trap);

  store32(regs + 0x10, 1);
  volatile uint32_t* read_only = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (sigsetjmp(recovery, 1) == 0) *read_only = 1;
  store32(regs + 0x14, 2);
  __asm__ volatile("int3");
  store32(regs + 0x18, 3);
  printf("traps: %d\n", traps);
  munmap((void*)regs, 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
