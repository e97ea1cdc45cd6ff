/* Traced accesses made inside the program's own signal handlers are traced: a handler on a
 * sigaltstack, a handler that blocks every signal while it runs, and a timer's handler. The
 * program's own SIGSEGV handler on its alternate stack still gets the faults that are not ours. */
#include <setjmp.h>
#include <signal.h>
#include <sys/time.h>

#include "prog_support.h"

static volatile uint8_t* regs;
static char alternate_stack[64 * 1024];
static sigjmp_buf recovery;
static volatile sig_atomic_t timer_fired;

static int on_alternate_stack(void) {
  char here;
  return &here >= alternate_stack && &here < alternate_stack + sizeof(alternate_stack);
}

static void on_usr1(int signo) {
  (void)signo;
  store32(regs + 0x10, load32(regs + 0x10) + (on_alternate_stack() ? 1 : 0x100));
}

static void on_usr2(int signo) {
  (void)signo;
  store32(regs + 0x20, 0x2222);
}

static void on_alarm(int signo) {
  (void)signo;
  store32(regs + 0x30, 0x3333);
  timer_fired = 1;
}

static void on_segv(int signo) {
  (void)signo;
  static const char message[] = "caught SIGSEGV on the alternate stack\n";
  if (!on_alternate_stack() || write(1, message, sizeof(message) - 1) < 0) _exit(3);
  siglongjmp(recovery, 1);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  regs = map_register_file(argv[1], "device.reg", 4096, 0);
  stack_t stack = {.ss_sp = alternate_stack, .ss_size = sizeof(alternate_stack)};
  if (sigaltstack(&stack, NULL) != 0) return 4;

  struct sigaction action = {0};
  action.sa_handler = on_usr1;
  action.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &action, NULL);
  raise(SIGUSR1);

  action.sa_handler = on_usr2;
  action.sa_flags = 0;
  sigfillset(&action.sa_mask);
  sigaction(SIGUSR2, &action, NULL);
  raise(SIGUSR2);

  action.sa_handler = on_alarm;
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, NULL);
  struct itimerval timer = {{0, 0}, {0, 10000}};
  sigset_t blocked, old;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGALRM);
  sigprocmask(SIG_BLOCK, &blocked, &old);
  setitimer(ITIMER_REAL, &timer, NULL);
  while (!timer_fired)
    sigsuspend(&old);
  sigprocmask(SIG_SETMASK, &old, NULL);

  action.sa_handler = on_segv;
  action.sa_flags = SA_ONSTACK;
  sigaction(SIGSEGV, &action, NULL);
  if (sigsetjmp(recovery, 1) == 0) store32((volatile void*)16, 1);

  printf("%08x %08x %08x\n", load32(regs + 0x10), load32(regs + 0x20), load32(regs + 0x30));
  puts("EXIT-SUCCESS");
  return 0;
}
