/* A hot loop in the code cache, interrupted thousands of times by a timer whose handler makes
 * traced accesses of its own (translated too): the loop writes i to one register and reads it
 * back, the handler counts in another. Checks that every value read is the one written, and
 * that the device's count is the handler's; the test checks the trace holds every access once,
 * in order. Usage: signals_in_code_cache DIR [ITERATIONS] */
#include <signal.h>
#include <sys/time.h>

#include "prog_support.h"

static volatile uint8_t* regs;
static volatile uint64_t handler_runs;

static void on_alarm(int signo) {
  (void)signo;
  store64(regs + 0x100, load64(regs + 0x100) + 1);
  handler_runs = handler_runs + 1;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  uint64_t iterations = argc > 2 ? strtoull(argv[2], NULL, 0) : 3000000;
  regs = map_register_file(argv[1], "device.reg", 4096, 0);
  store64(regs + 0x100, 0);

  struct sigaction action = {0};
  action.sa_handler = on_alarm;
  action.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &action, NULL);
  struct itimerval every = {{0, 20}, {0, 20}}; /* as often as the kernel's timers allow */
  setitimer(ITIMER_REAL, &every, NULL);

  for (uint64_t i = 0; i < iterations; ++i) {
    store64(regs, i);
    if (load64(regs) != i) {
      printf("read back %llu at %llu\n", (unsigned long long)load64(regs), (unsigned long long)i);
      return 5;
    }
  }
  struct itimerval stop = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &stop, NULL);
  if (load64(regs + 0x100) != handler_runs) {
    printf("the device counted %llu handler runs, the program %llu\n",
           (unsigned long long)load64(regs + 0x100), (unsigned long long)handler_runs);
    return 6;
  }
  fprintf(stderr, "%llu handler runs\n", (unsigned long long)handler_runs);
  puts("done");
  return 0;
}
