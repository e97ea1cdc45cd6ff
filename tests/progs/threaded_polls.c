/* Four threads poll registers of one device at once, each its own: write i, read it back, then
 * call a function through a pointer (which leaves the code cache), so that every iteration
 * enters the cache again at the same 2- or 3-byte store: a hot entry that is patched while the
 * other threads run it. The instruction after the store chooses where a jump over the store
 * alone can lead (its bytes are that jump's displacement's high bytes: about 1 GiB above this
 * non-PIE program's code, clear of its heap). Checks every value read back; the test checks the
 * trace holds each thread's accesses in order, and that the entry was patched.
 * Usage: threaded_polls DIR [ITERATIONS] */
#include <pthread.h>

#include "prog_support.h"

#define THREADS 4

static volatile uint8_t* regs;
static uint32_t iterations;
static pthread_barrier_t start;

static void between(void) {
  __asm__ volatile("" ::: "memory");
}
static void (*volatile between_pointer)(void) = between;

static void* poll_register(void* argument) {
  volatile uint8_t* reg = regs + 0x40 * (uintptr_t)argument;
  pthread_barrier_wait(&start);
  for (uint32_t i = 0; i < iterations; ++i) {
    uint32_t back;
    __asm__ volatile(
        "movl %k[i], (%[reg])\n\t"
        "test $0x4040, %%eax\n\t"
        "movl (%[reg]), %k[back]"
        : [back] "=&r"(back)
        : [i] "c"(i), [reg] "b"(reg) /* movl %ecx,(%rbx): 2 bytes */
        : "memory", "cc");
    if (back != i) {
      printf("thread %u read back %u after writing %u\n", (unsigned)(uintptr_t)argument, back, i);
      exit(5);
    }
    between_pointer();
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  iterations = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 20000;
  regs = map_register_file(argv[1], "device.reg", 4096, 0);
  pthread_barrier_init(&start, NULL, THREADS);
  pthread_t threads[THREADS];
  for (uintptr_t t = 0; t < THREADS; ++t)
    pthread_create(&threads[t], NULL, poll_register, (void*)t);
  for (int t = 0; t < THREADS; ++t)
    pthread_join(threads[t], NULL);
  for (int t = 0; t < THREADS; ++t)
    printf("register %d: %u\n", t, load32(regs + 0x40 * t));
  return 0;
}
