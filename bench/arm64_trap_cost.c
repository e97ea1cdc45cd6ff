/* The AArch64 side of arm64_trap_bench: times a loop of one trapping access class, in
 * nanoseconds per access, on the clock of the (emulated) machine it runs on.
 *   arm64_trap_cost bare CLASS N         on a PROT_NONE page, its own SIGSEGV handler stepping
 *                                        over each access: the bare signal round trip
 *   arm64_trap_cost traced CLASS N FILE  on FILE mapped shared, which `mmiotrace record` traces
 * CLASS: load, store, pair, atomic, vector. Prints "CLASS NS_PER_ACCESS". */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(__aarch64__)
#error "arm64_trap_cost is built for AArch64 only"
#endif

static void step_over(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)info;
  ((ucontext_t*)context)->uc_mcontext.pc += 4;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One access of CLASS at `p`, written in assembly so that it is one instruction. */
static void access_once(const char* class, volatile uint8_t* p) {
  uint64_t a, b;
  if (strcmp(class, "load") == 0) {
    __asm__ volatile("ldr %w0, [%1]" : "=r"(a) : "r"(p) : "memory");
  } else if (strcmp(class, "store") == 0) {
    __asm__ volatile("str %w0, [%1]" ::"r"(7u), "r"(p) : "memory");
  } else if (strcmp(class, "pair") == 0) {
    __asm__ volatile("ldp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(p) : "memory");
  } else if (strcmp(class, "atomic") == 0) {
    __asm__ volatile("ldadd %1, %0, [%2]" : "=r"(a) : "r"(1ull), "r"(p) : "memory");
  } else {
    __asm__ volatile("ldr q16, [%0]" ::"r"(p) : "v16", "memory");
  }
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  const char* class = argv[2];
  long count = atol(argv[3]);
  volatile uint8_t* page;
  if (strcmp(argv[1], "bare") == 0) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = step_over;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &action, NULL);
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  } else {
    if (argc < 5) return 2;
    int fd = open(argv[4], O_RDWR);
    if (fd < 0) return 3;
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
  }
  if (page == MAP_FAILED) return 4;
  for (long i = 0; i < count / 10; ++i) /* warm up: the code and the engine's caches */
    access_once(class, page + 64);
  uint64_t start = now_ns();
  for (long i = 0; i < count; ++i)
    access_once(class, page + 64);
  uint64_t elapsed = now_ns() - start;
  printf("%s %.1f\n", class, (double)elapsed / (double)count);
  return 0;
}
