/* Threads that share a spinlock and counters on a traced register file: the lock is taken with a
 * load-acquire-exclusive / store-exclusive loop and released with a store-release, a counter
 * under it is incremented with plain loads and stores, and a second counter with LDADD. Every
 * increment must be there at the end, traced as untraced. */
#include <inttypes.h>
#include <pthread.h>

#include "arm64_support.h"

enum { kThreads = 3, kRounds = 200 };

static volatile uint8_t* g_registers;

static void lock(volatile uint32_t* word) {
  uint32_t seen, status;
  __asm__ volatile(
      "1: ldaxr %w0, [%2]\n"
      "   cbz %w0, 2f\n"
      "   clrex\n"
      "   yield\n"
      "   b 1b\n"
      "2:\n"
      "   stxr %w1, %w3, [%2]\n"
      "   cbnz %w1, 1b"
      : "=&r"(seen), "=&r"(status)
      : "r"(word), "r"(1u)
      : "memory");
}

static void unlock(volatile uint32_t* word) {
  __asm__ volatile("stlr wzr, [%0]" ::"r"(word) : "memory");
}

static void* work(void* unused) {
  (void)unused;
  volatile uint32_t* lock_word = (volatile uint32_t*)(g_registers + 0x100);
  volatile uint64_t* locked_counter = (volatile uint64_t*)(g_registers + 0x108);
  volatile uint64_t* atomic_counter = (volatile uint64_t*)(g_registers + 0x110);
  for (int i = 0; i < kRounds; ++i) {
    lock(lock_word);
    uint64_t value;
    __asm__ volatile("ldr %0, [%1]" : "=r"(value) : "r"(locked_counter) : "memory");
    __asm__ volatile("str %0, [%1]" ::"r"(value + 1), "r"(locked_counter) : "memory");
    unlock(lock_word);
    uint64_t old;
    __asm__ volatile("ldadd %1, %0, [%2]" : "=r"(old) : "r"(1ull), "r"(atomic_counter) : "memory");
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  g_registers = map_register_file(argv[1], "device.reg", 4096, 0);
  *(volatile uint32_t*)(g_registers + 0x100) = 0;
  *(volatile uint64_t*)(g_registers + 0x108) = 0;
  *(volatile uint64_t*)(g_registers + 0x110) = 0;
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i)
    pthread_create(&threads[i], NULL, work, NULL);
  for (int i = 0; i < kThreads; ++i)
    pthread_join(threads[i], NULL);
  printf("locked %" PRIu64 ", atomic %" PRIu64 " of %d\n",
         *(volatile uint64_t*)(g_registers + 0x108), *(volatile uint64_t*)(g_registers + 0x110),
         kThreads * kRounds);
  munmap((void*)g_registers, 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
